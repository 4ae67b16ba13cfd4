import assert from 'node:assert/strict';
import { test } from 'node:test';
import { publishAddress, publishAddressWarning } from './publish-address.ts';

const host = {
  addresses: [
    { device: 'eth0', cidr: '192.168.1.10/24' },
    { device: 'skiff1a2b3c-0', cidr: '10.240.0.1/20' },
  ],
  routes: [],
};

test('replica ports are published on the cluster address when this host holds it', () => {
  assert.equal(publishAddress({ address: '192.168.1.10', host, engineOnThisHost: true }), '192.168.1.10');
  assert.equal(publishAddress({ address: '127.0.0.1', host, engineOnThisHost: true }), '127.0.0.1');
  assert.equal(publishAddressWarning({ address: '192.168.1.10', host, engineOnThisHost: true }), undefined);
});

test('on every address when the cluster address cannot be bound here, with a warning saying why', () => {
  for (const address of ['203.0.113.7', 'node-1.example', '192.168.1.1', 'fe80::1']) {
    assert.equal(publishAddress({ address, host, engineOnThisHost: true }), undefined, address);
    assert.match(
      publishAddressWarning({ address, host, engineOnThisHost: true }) ?? '',
      /not an IPv4 address of this host/,
    );
  }
  // An engine elsewhere binds on its own host, whose addresses this agent does not know.
  assert.equal(publishAddress({ address: '192.168.1.10', host, engineOnThisHost: false }), undefined);
});
