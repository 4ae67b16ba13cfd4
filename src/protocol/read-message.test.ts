import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLOSE_CODES } from './messages.ts';
import { readAgentMessage, readServerMessage } from './read-message.ts';

const spec = {
  name: 'web',
  image: 'skiff-demo:v1',
  replicas: 1,
  ports: [{ container_port: 80, protocol: 'tcp', mode: 'ingress', app_protocol: 'tcp', weight: 1 }],
  resources: {},
  env: {},
  restart_policy: { condition: 'always', delay: '1s', max_delay: '1m' },
  labels: {},
  networks: ['default'],
  placement: { constraints: [], strategy: 'binpack' },
  update: {
    max_surge: 1,
    max_unavailable: 0,
    min_healthy_time: '2s',
    healthy_deadline: '60s',
    auto_rollback: true,
    drain_timeout: '2s',
  },
  stop_grace_period: '10s',
  // Fields of a newer server's spec:
  paused: false,
  sidecars: [{ image: 'proxy', target: '/data' }],
};

test("the agent reads a newer server's assignment: unknown fields at every level are dropped", () => {
  const read = readServerMessage(
    JSON.stringify({
      type: 'assign',
      generation: 7,
      priority: 'high',
      tasks: [
        {
          task_id: 't1',
          service: 'web',
          slot: 0,
          revision: 1,
          spec,
          networks: [{ name: 'default', index: 0, mtu: 1450 }],
          needs: ['x'],
        },
      ],
    }),
  );
  assert.equal(read.kind, 'ok', JSON.stringify(read));
  if (read.kind !== 'ok' || read.message.type !== 'assign') return;
  assert.equal(read.message.tasks[0]?.spec.image, 'skiff-demo:v1');
  assert.equal('sidecars' in (read.message.tasks[0]?.spec ?? {}), false);
});

test('the agent reads welcome and endpoints with extra fields, and skips unknown message types', () => {
  const welcome = readServerMessage(
    JSON.stringify({
      type: 'welcome',
      node_id: 'n1',
      cluster_id: 'c',
      heartbeat_interval_ms: 500,
      address_pool: '10.240.0.0/12',
    }),
  );
  assert.equal(welcome.kind, 'ok');
  const endpoints = readServerMessage(
    JSON.stringify({
      type: 'endpoints',
      generation: 3,
      services: [
        {
          name: 'web',
          vip_index: 1,
          networks: [],
          ports: spec.ports,
          backends: [],
          sticky: true,
        },
      ],
    }),
  );
  assert.equal(endpoints.kind, 'ok', JSON.stringify(endpoints));
  assert.deepEqual(readServerMessage('{"type":"drain.now"}'), { kind: 'unknown', type: 'drain.now' });
  assert.equal(readServerMessage('{"type":"assign"}').kind, 'bad');
});

test("the server reads a newer agent's hello and report with extra fields", () => {
  const hello = readAgentMessage(
    JSON.stringify({
      type: 'hello',
      agent_version: '9.0.0',
      kernel: '6.1',
      node: {
        name: 'n1',
        engine_id: 'e',
        address: '10.0.0.1',
        labels: {},
        cpu_millicores: 1000,
        memory_bytes: 1024,
        engine_version: '27',
        gpus: 2,
      },
    }),
  );
  assert.equal(hello.kind, 'ok', JSON.stringify(hello));
  const report = readAgentMessage(
    JSON.stringify({
      type: 'report',
      generation: 1,
      full: true,
      tasks: [
        {
          task_id: 't1',
          state: 'running',
          container_id: 'c',
          health: 'none',
          message: null,
          exit_code: null,
          restart_count: 0,
          ports: [{ container_port: 80, host_port: 8080, protocol: 'tcp', host_ip: '0.0.0.0' }],
          retry_at: null,
          ready_since: 1,
          ip: null,
          cpu_percent: 3,
        },
      ],
      removed: [],
      events: [
        { type: 'container', service: null, container: null, node: null, message: 'x', at: 1, id: 'e1' },
      ],
      stats: {},
    }),
  );
  assert.equal(report.kind, 'ok', JSON.stringify(report));
  assert.deepEqual(readAgentMessage('{"type":"profile"}'), { kind: 'unknown', type: 'profile' });
});

test('a stats message with a malformed sample is read, not refused: the sample alone is dropped later', () => {
  const read = readAgentMessage(
    JSON.stringify({
      type: 'stats',
      interval_ms: 5000,
      node: { at: 'yesterday' },
      replicas: [{ task_id: 't1', cpu_seconds: 'lots' }, { a_newer: 'shape' }],
      a_newer_field: true,
    }),
  );
  assert.equal(read.kind, 'ok');
  // The envelope still bounds the work: a flood of samples is a bad message.
  const flood = readAgentMessage(
    JSON.stringify({ type: 'stats', interval_ms: 5000, replicas: new Array(6000).fill(0) }),
  );
  assert.equal(flood.kind, 'bad');
});

test("an older server's welcome has no features: the agent reads it as none", () => {
  const read = readServerMessage(
    JSON.stringify({ type: 'welcome', node_id: 'n1', cluster_id: 'c1', heartbeat_interval_ms: 500 }),
  );
  assert.equal(read.kind, 'ok');
  assert.equal(
    read.kind === 'ok' && read.message.type === 'welcome' ? read.message.features : 'x',
    undefined,
  );
});

test('close codes are distinct: each tells the other side one thing', () => {
  const codes = Object.values(CLOSE_CODES);
  assert.equal(new Set(codes).size, codes.length, JSON.stringify(CLOSE_CODES));
});

test('a heartbeat is read without its schema, exactly as the schema reads it', () => {
  const exact = readAgentMessage('{"type":"heartbeat"}');
  assert.deepEqual(exact, { kind: 'ok', message: { type: 'heartbeat' } });
  assert.equal(readAgentMessage('{"type":"heartbeat"}'), exact, 'one constant answer, nothing built');
  // Spaced, or with a newer agent's fields: parsed, and the fields dropped as the schema drops them.
  assert.deepEqual(readAgentMessage('{ "type": "heartbeat", "load": [1, 2] }'), exact);
  assert.deepEqual(readAgentMessage('{"type":"endpoints.resync","why":"gap"}'), {
    kind: 'ok',
    message: { type: 'endpoints.resync' },
  });
  // Whatever is not exactly a heartbeat still goes through the schema or is refused.
  assert.equal(readAgentMessage('{"type":"heartbeat"').kind, 'bad');
  assert.equal(readAgentMessage('[{"type":"heartbeat"}]').kind, 'bad');
  assert.equal(readAgentMessage('{"type":"endpoints.ack","generation":-1}').kind, 'bad');
  assert.equal(readServerMessage('{"type":"heartbeat"}').kind, 'unknown', 'not a server message');
});
