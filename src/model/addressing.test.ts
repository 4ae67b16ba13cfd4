import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inNetwork, networkAddressing, serviceVip } from './addressing.ts';

test('each network is its own /20 with a bridge, a container range and a gateway', () => {
  assert.deepEqual(networkAddressing(0), {
    bridge: 'skiff0',
    subnet: '10.240.0.0/20',
    ipRange: '10.240.0.0/21',
    gateway: '10.240.0.1',
  });
  assert.equal(networkAddressing(1).subnet, '10.240.16.0/20');
  assert.equal(networkAddressing(255).subnet, '10.255.240.0/20');
  assert.throws(() => networkAddressing(256), RangeError);
});

test('service VIPs sit in the upper half of their network, outside the container range', () => {
  assert.equal(serviceVip(0, 1), '10.240.8.1');
  assert.equal(serviceVip(1, 5), '10.240.24.5');
  assert.throws(() => serviceVip(0, 0), RangeError);
});

test('membership by address, IPv4-mapped too', () => {
  assert.equal(inNetwork('10.240.3.7', 0), true);
  assert.equal(inNetwork('::ffff:10.240.3.7', 0), true);
  assert.equal(inNetwork('10.240.16.2', 0), false);
  assert.equal(inNetwork('172.17.0.2', 0), false);
  assert.equal(inNetwork('not an address', 0), false);
});
