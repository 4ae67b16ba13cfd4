import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_POOL, parseAddressPool } from '../model/addressing.ts';
import type { HostNetworks } from './pool-overlap.ts';
import { overlapProblem, poolOverlaps } from './pool-overlap.ts';

const clusterId = '3fa2b1c4-9d0e-4f3a-8b7c-112233445566';

/** A lab host: its LAN on eth0, Docker's bridge, a default route out. */
const labHost: HostNetworks = {
  addresses: [
    { device: 'lo', cidr: '127.0.0.1/8' },
    { device: 'eth0', cidr: '10.231.0.11/24' },
    { device: 'docker0', cidr: '10.232.1.1/24' },
  ],
  routes: [
    { destination: 'default', device: 'eth0' },
    { destination: '10.231.0.0/24', device: 'eth0' },
    { destination: '10.232.1.0/24', device: 'docker0' },
  ],
};

test('a host outside the pool has no overlap', () => {
  assert.deepEqual(poolOverlaps(labHost, { clusterId, pool: DEFAULT_POOL }), []);
  assert.deepEqual(poolOverlaps(labHost, { clusterId, pool: parseAddressPool('10.96.0.0/14') }), []);
});

test('a host whose LAN is inside the pool overlaps, said once for the address and its route', () => {
  const cluster = { clusterId, pool: parseAddressPool('10.231.0.0/16') };
  assert.deepEqual(poolOverlaps(labHost, cluster), ['address 10.231.0.11/24 on eth0']);
  const wide = { clusterId, pool: parseAddressPool('10.224.0.0/12') };
  assert.deepEqual(poolOverlaps(labHost, wide), [
    'address 10.231.0.11/24 on eth0',
    'address 10.232.1.1/24 on docker0',
  ]);
});

test('a route into the pool counts (a VPN, a wider LAN), the default route does not', () => {
  const host: HostNetworks = {
    addresses: [{ device: 'eth0', cidr: '192.168.1.5/24' }],
    routes: [
      { destination: 'default', device: 'eth0' },
      { destination: '10.0.0.0/8', device: 'tun0' },
      { destination: '192.168.1.0/24', device: 'eth0' },
    ],
  };
  assert.deepEqual(poolOverlaps(host, { clusterId, pool: DEFAULT_POOL }), ['route 10.0.0.0/8 on tun0']);
});

test("the cluster's own bridges never count; another cluster's do, and are named as such", () => {
  const host: HostNetworks = {
    addresses: [
      { device: 'skiff3fa2b1-0', cidr: '10.240.0.1/20' },
      { device: 'skiff3fa2b1-0', cidr: '10.240.8.3/32' },
      { device: 'skiff9e8d7c-0', cidr: '10.240.16.1/20' },
      { device: 'skiff-lab0', cidr: '10.240.32.1/24' },
      { device: 'skiff0', cidr: '10.240.48.1/20' },
    ],
    routes: [
      { destination: '10.240.0.0/20', device: 'skiff3fa2b1-0' },
      { destination: '10.240.16.0/20', device: 'skiff9e8d7c-0' },
    ],
  };
  assert.deepEqual(poolOverlaps(host, { clusterId, pool: DEFAULT_POOL }), [
    "address 10.240.16.1/20 on skiff9e8d7c-0 (another Skiff cluster's bridge)",
    'address 10.240.32.1/24 on skiff-lab0',
    'address 10.240.48.1/20 on skiff0 (an older Skiff bridge: remove its Docker network once no container uses it)',
  ]);
});

test('the problem names what overlaps, the pool and the flag', () => {
  const cluster = { clusterId, pool: parseAddressPool('10.231.0.0/16') };
  const problem = overlapProblem(poolOverlaps(labHost, cluster), cluster);
  assert.match(problem, /address 10\.231\.0\.11\/24 on eth0/);
  assert.match(problem, /address pool 10\.231\.0\.0\/16/);
  assert.match(problem, /--address-pool CIDR/);
  const many = overlapProblem(['a', 'b', 'c', 'd', 'e'], cluster);
  assert.match(many, /host's a, b, c and 2 more overlaps/);
});
