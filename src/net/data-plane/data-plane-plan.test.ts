import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_POOL, parseAddressPool } from '../../model/addressing.ts';
import { portSchema } from '../../model/service-spec.ts';
import type { ServiceEndpoints } from '../../protocol/messages.ts';
import { planDataPlane } from './data-plane-plan.ts';
import { serviceRegistry } from './service-registry.ts';

const CLUSTER = { clusterId: 'c0ffee00-aaaa-bbbb-cccc-000000000000', pool: DEFAULT_POOL };

function service(overrides: Partial<ServiceEndpoints> = {}): ServiceEndpoints {
  return {
    name: 'web',
    vip_index: 3,
    networks: [{ name: 'default', index: 0 }],
    ports: [portSchema.parse({ container_port: 8080, host_port: 80, app_protocol: 'http' })],
    backends: [
      {
        task_id: 't1',
        node_id: 'me',
        address: '10.0.0.1',
        container_ip: '10.240.0.5',
        ports: [{ container_port: 8080, host_port: 32001, protocol: 'tcp' }],
      },
      {
        task_id: 't2',
        node_id: 'other',
        address: '10.0.0.2',
        container_ip: '10.240.0.9',
        ports: [{ container_port: 8080, host_port: 32002, protocol: 'tcp' }],
      },
    ],
    ...overrides,
  };
}

test('an http port: the proxy takes the VIP (any free port) and the published port; local replicas are reached directly', () => {
  const plan = planDataPlane([service()], 'me', CLUSTER);
  assert.deepEqual(plan.vips, [{ bridge: 'skiffc0ffee-0', address: '10.240.8.3' }]);
  assert.deepEqual(plan.dns, ['10.240.0.1']);
  assert.deepEqual(
    plan.routes.map((r) => [r.key, r.mode, r.listen, r.network]),
    [
      ['web@default:8080', 'http', [{ host: '0.0.0.0', port: 0 }], 0],
      [
        'web:ingress:80',
        'http',
        [
          { host: '0.0.0.0', port: 0 },
          { host: '127.0.0.1', port: 80 },
        ],
        null,
      ],
    ],
  );
  assert.deepEqual(plan.routes[0]?.backends, [
    { id: 't1', host: '10.240.0.5', port: 8080 },
    { id: 't2', host: '10.0.0.2', port: 32002 },
  ]);
  assert.deepEqual(plan.kernel.vips, [
    {
      key: 'web@default:8080',
      vip: '10.240.8.3',
      port: 8080,
      sourceCidr: '10.240.0.0/20',
      target: { kind: 'proxy', routeKey: 'web@default:8080' },
    },
  ]);
  assert.deepEqual(plan.kernel.ingress, [
    { key: 'web:ingress:80', port: 80, target: { kind: 'proxy', routeKey: 'web:ingress:80' } },
  ]);
  assert.deepEqual(plan.published, [80]);
});

test('a tcp port goes to the kernel: VIP and published port DNAT to the replicas; the proxy only serves loopback', () => {
  const tcp = service({ ports: [portSchema.parse({ container_port: 8080, host_port: 80 })] });
  const plan = planDataPlane([tcp], 'me', CLUSTER);
  const endpoints = [
    { host: '10.240.0.5', port: 8080, remote: false },
    { host: '10.0.0.2', port: 32002, remote: true },
  ];
  assert.deepEqual(
    plan.kernel.vips.map((v) => v.target),
    [{ kind: 'endpoints', endpoints }],
  );
  assert.deepEqual(
    plan.kernel.ingress.map((i) => [i.port, i.target]),
    [[80, { kind: 'endpoints', endpoints }]],
  );
  assert.deepEqual(
    plan.routes.map((r) => [r.key, r.mode, r.listen]),
    [['web:ingress:80', 'tcp', [{ host: '127.0.0.1', port: 80 }]]],
  );
});

test('a loopback node address is no kernel endpoint (a DNAT cannot reach it)', () => {
  const tcp = service({
    ports: [portSchema.parse({ container_port: 8080 })],
    backends: [
      {
        task_id: 't1',
        node_id: 'me',
        address: '127.0.0.1',
        container_ip: null,
        ports: [{ container_port: 8080, host_port: 32001, protocol: 'tcp' }],
      },
    ],
  });
  assert.deepEqual(
    planDataPlane([tcp], 'me', CLUSTER).kernel.vips.map((v) => v.target),
    [{ kind: 'endpoints', endpoints: [] }],
  );
});

test('a published port a host process holds is not claimed, and says who holds it', () => {
  const plan = planDataPlane([service()], 'me', CLUSTER, {
    refusedPorts: new Map([[80, 'port 80/tcp is held by nginx (pid 7) on 0.0.0.0']]),
  });
  assert.deepEqual(plan.kernel.ingress, []);
  assert.ok(!plan.routes.some((r) => r.key === 'web:ingress:80'));
  assert.deepEqual(plan.skipped, ['web: not publishing port 80/tcp is held by nginx (pid 7) on 0.0.0.0']);
  assert.equal(plan.kernel.vips.length, 1, 'the service is still reachable by name');
});

test('two services on one ingress port: the first by name keeps it, the other is reported', () => {
  const plan = planDataPlane(
    [service({ name: 'zeta' }), service({ name: 'alpha', vip_index: 4 })],
    'me',
    CLUSTER,
  );
  assert.ok(plan.routes.some((r) => r.key === 'alpha:ingress:80'));
  assert.ok(!plan.routes.some((r) => r.key === 'zeta:ingress:80'));
  assert.deepEqual(plan.skipped, ['zeta: ingress port 80 is already published by alpha']);
});

test('in a non-default pool, VIPs, DNS listeners and network membership all come from the pool', () => {
  const cluster = { clusterId: CLUSTER.clusterId, pool: parseAddressPool('10.96.0.0/14') };
  const db = service({ name: 'db', vip_index: 4, networks: [{ name: 'private', index: 1 }] });
  const plan = planDataPlane([service(), db], 'me', cluster);
  assert.deepEqual(plan.vips, [
    { bridge: 'skiffc0ffee-1', address: '10.96.24.4' },
    { bridge: 'skiffc0ffee-0', address: '10.96.8.3' },
  ]);
  assert.deepEqual(plan.dns, ['10.96.0.1', '10.96.16.1']);
  assert.deepEqual(
    plan.kernel.vips.map((v) => [v.vip, v.sourceCidr]),
    [
      ['10.96.24.4', '10.96.16.0/20'],
      ['10.96.8.3', '10.96.0.0/20'],
    ],
  );
  const registry = serviceRegistry([service(), db], cluster.pool);
  assert.equal(registry.vipFor('db', '10.96.16.7'), '10.96.24.4');
  assert.equal(registry.vipFor('db', '10.240.16.7'), undefined, 'the default range is nobody here');
  assert.equal(registry.vipFor('web', '10.96.16.7'), undefined, 'web is not on private');
});

test('names resolve only for clients on a shared network', () => {
  const registry = serviceRegistry(
    [
      service(),
      service({ name: 'db', vip_index: 4, networks: [{ name: 'private', index: 1 }], backends: [] }),
    ],
    DEFAULT_POOL,
  );
  assert.equal(registry.vipFor('web', '10.240.0.7'), '10.240.8.3');
  assert.equal(registry.vipFor('db', '10.240.0.7'), undefined, 'db is on another network');
  assert.equal(registry.vipFor('db', '10.240.16.7'), '10.240.24.4');
  assert.equal(registry.vipFor('nope', '10.240.0.7'), undefined);
  assert.deepEqual(registry.endpointsFor('web', 8080, '10.240.0.7'), [
    { target: '10.0.0.1', port: 32001 },
    { target: '10.0.0.2', port: 32002 },
  ]);
});

test('a port can ask for least-connections balancing; round-robin otherwise', () => {
  const leastConnections = service({
    ports: [portSchema.parse({ container_port: 8080, app_protocol: 'http', balance: 'least-connections' })],
  });
  assert.deepEqual(
    planDataPlane([leastConnections], 'me', CLUSTER).routes.map((r) => r.strategy),
    ['least-connections'],
  );
  assert.deepEqual(
    planDataPlane([service()], 'me', CLUSTER).routes.map((r) => r.strategy),
    ['round-robin', 'round-robin'],
  );
});
