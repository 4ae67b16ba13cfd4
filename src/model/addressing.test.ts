import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AddressPoolError,
  bridgeName,
  clusterTag,
  DEFAULT_POOL,
  dockerNetworkName,
  inNetwork,
  isOwnBridge,
  isSkiffBridge,
  networkAddressing,
  parseAddressPool,
  parseIp4Range,
  rangesOverlap,
  serviceVip,
} from './addressing.ts';

const CLUSTER = '3fa2b1c4-9d0e-4f3a-8b7c-112233445566';

test('the default pool: each network is its own /20 with a container range and a gateway', () => {
  assert.equal(DEFAULT_POOL.cidr, '10.240.0.0/12');
  assert.equal(DEFAULT_POOL.networkCount, 256);
  assert.deepEqual(networkAddressing(DEFAULT_POOL, 0), {
    subnet: '10.240.0.0/20',
    ipRange: '10.240.0.0/21',
    gateway: '10.240.0.1',
  });
  assert.equal(networkAddressing(DEFAULT_POOL, 1).subnet, '10.240.16.0/20');
  assert.equal(networkAddressing(DEFAULT_POOL, 255).subnet, '10.255.240.0/20');
  assert.throws(() => networkAddressing(DEFAULT_POOL, 256), RangeError);
});

test('service VIPs sit in the upper half of their network, outside the container range', () => {
  assert.equal(serviceVip(DEFAULT_POOL, 0, 1), '10.240.8.1');
  assert.equal(serviceVip(DEFAULT_POOL, 1, 5), '10.240.24.5');
  assert.equal(serviceVip(DEFAULT_POOL, 0, 2046), '10.240.15.254');
  assert.throws(() => serviceVip(DEFAULT_POOL, 0, 0), RangeError);
  assert.throws(() => serviceVip(DEFAULT_POOL, 0, 2047), RangeError);
});

test('a non-default pool moves every address and limits the number of networks', () => {
  const pool = parseAddressPool('172.29.0.0/16');
  assert.equal(pool.networkCount, 16);
  assert.deepEqual(networkAddressing(pool, 0), {
    subnet: '172.29.0.0/20',
    ipRange: '172.29.0.0/21',
    gateway: '172.29.0.1',
  });
  assert.equal(networkAddressing(pool, 15).subnet, '172.29.240.0/20');
  assert.throws(() => networkAddressing(pool, 16), RangeError);
  assert.equal(serviceVip(pool, 2, 3), '172.29.40.3');
  assert.equal(inNetwork(pool, '172.29.33.9', 2), true);
  assert.equal(inNetwork(pool, '10.240.3.7', 0), false, 'the default range means nothing here');
  assert.equal(parseAddressPool('10.96.0.0/14').networkCount, 64);
  assert.equal(parseAddressPool('192.168.64.0/18').networkCount, 4);
});

test('membership by address, IPv4-mapped too', () => {
  assert.equal(inNetwork(DEFAULT_POOL, '10.240.3.7', 0), true);
  assert.equal(inNetwork(DEFAULT_POOL, '::ffff:10.240.3.7', 0), true);
  assert.equal(inNetwork(DEFAULT_POOL, '10.240.16.2', 0), false);
  assert.equal(inNetwork(DEFAULT_POOL, '172.17.0.2', 0), false);
  assert.equal(inNetwork(DEFAULT_POOL, 'not an address', 0), false);
});

test('a pool must be an aligned IPv4 range of /12 to /18 outside special-purpose ranges', () => {
  const refused: [string, RegExp][] = [
    ['10.240.0.0', /prefix must be \/12 to \/18/],
    ['10.0.0.0/8', /prefix must be \/12 to \/18/],
    ['10.240.0.0/19', /prefix must be \/12 to \/18/],
    ['10.241.0.0/12', /host bits set; did you mean 10\.240\.0\.0\/12\?/],
    ['127.16.0.0/12', /loopback/],
    ['169.254.0.0/16', /link-local/],
    ['224.0.0.0/12', /multicast/],
    ['fd00::/64', /not an IPv4 CIDR/],
    ['10.240.0.0/1x', /not an IPv4 CIDR/],
    ['10.240.0.256/12', /not an IPv4 CIDR/],
    ['', /not an IPv4 CIDR/],
  ];
  for (const [text, reason] of refused) {
    assert.throws(
      () => parseAddressPool(text),
      (e: unknown) => e instanceof AddressPoolError && reason.test(e.message),
      text,
    );
  }
  assert.equal(parseAddressPool(' 10.240.0.0/12 ').cidr, '10.240.0.0/12');
});

test('ranges overlap when one holds the other', () => {
  const range = (text: string) => parseIp4Range(text) ?? assert.fail(text);
  assert.equal(rangesOverlap(range('10.231.0.11/24'), range('10.231.0.0/16')), true);
  assert.equal(rangesOverlap(range('10.0.0.0/8'), range('10.240.0.0/12')), true);
  assert.equal(rangesOverlap(range('10.240.0.5'), range('10.240.0.0/12')), true);
  assert.equal(rangesOverlap(range('10.239.255.255'), range('10.240.0.0/12')), false);
  assert.equal(rangesOverlap(range('10.0.0.0/0'), range('192.168.0.0/16')), true);
  assert.equal(parseIp4Range('10.1.2.3/33'), undefined);
});

test('bridges and Docker networks carry the cluster, within the kernel limit of 15 characters', () => {
  assert.equal(clusterTag(CLUSTER), '3fa2b1');
  assert.equal(bridgeName(CLUSTER, 0), 'skiff3fa2b1-0');
  assert.equal(bridgeName(CLUSTER, 255), 'skiff3fa2b1-255');
  assert.ok(bridgeName(CLUSTER, 255).length <= 15);
  assert.equal(dockerNetworkName(CLUSTER, 'default'), 'skiff-3fa2b1-default');
  assert.equal(isOwnBridge(CLUSTER, 'skiff3fa2b1-12'), true);
  assert.equal(isOwnBridge(CLUSTER, 'skiff9e8d7c-0'), false, "another cluster's bridge");
  assert.equal(isOwnBridge(CLUSTER, 'skiff0'), false, 'an unnamed bridge of an older Skiff');
  assert.equal(isOwnBridge(CLUSTER, 'skiff3fa2b1-x'), false);
  assert.equal(isOwnBridge(CLUSTER, 'eth0'), false);
  assert.throws(() => clusterTag('--'), RangeError);
  assert.equal(isSkiffBridge('skiff9e8d7c-0'), true);
  assert.equal(isSkiffBridge('skiff0'), true, 'an older Skiff');
  assert.equal(isSkiffBridge('skiff-lab0'), false);
});
