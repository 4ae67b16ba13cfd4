import assert from 'node:assert/strict';
import { test } from 'node:test';
import { serviceSpecSchema } from '../model/service-spec.ts';
import { buildDeployBody } from './deploy-body.ts';
import { UsageError } from './errors.ts';

test('the spec example as flags gives the spec example body', () => {
  const { name, body } = buildDeployBody({
    name: 'api-server',
    image: 'myapp:latest',
    replicas: '3',
    port: ['8080:8080', '9090', '5353:53/udp'],
    'cpu-shares': '1024',
    memory: '512',
    'health-type': 'http',
    'health-endpoint': 'http://localhost:8080/health',
    'health-interval': '10s',
    'health-timeout': '2s',
    'health-retries': '3',
  });
  assert.equal(name, 'api-server');
  assert.deepEqual(body, {
    name: 'api-server',
    image: 'myapp:latest',
    replicas: 3,
    ports: [
      { container_port: 8080, host_port: 8080, protocol: 'tcp' },
      { container_port: 9090, protocol: 'tcp' },
      { container_port: 53, host_port: 5353, protocol: 'udp' },
    ],
    resources: { cpu_shares: 1024, memory_mb: 512 },
    health_check: {
      type: 'http',
      endpoint: 'http://localhost:8080/health',
      interval: '10s',
      timeout: '2s',
      retries: 3,
    },
  });
  assert.equal(serviceSpecSchema.safeParse(body).success, true);
});

test('env, labels, command, restart and grace period land in their fields', () => {
  const { body } = buildDeployBody({
    name: 'worker',
    image: 'busybox',
    env: ['A=1', 'URL=postgres://u:p@db/x?a=b'],
    label: ['team=core'],
    command: `sh -c 'while true; do echo "hi there"; sleep 1; done'`,
    'health-type': 'exec',
    'health-command': 'test -f /tmp/ready',
    restart: 'on-failure',
    'stop-grace-period': '30s',
    cpus: '0.5',
    memory: '1g',
  });
  assert.deepEqual(body.env, { A: '1', URL: 'postgres://u:p@db/x?a=b' });
  assert.deepEqual(body.labels, { team: 'core' });
  assert.deepEqual(body.command, ['sh', '-c', 'while true; do echo "hi there"; sleep 1; done']);
  assert.deepEqual(body.health_check, { type: 'exec', command: ['test', '-f', '/tmp/ready'] });
  assert.deepEqual(body.restart_policy, { condition: 'on-failure' });
  assert.equal(body.stop_grace_period, '30s');
  assert.deepEqual(body.resources, { cpus: 0.5, memory_mb: 1024 });
  assert.equal(serviceSpecSchema.safeParse(body).success, true);
});

test('flags override the file field by field, merging maps and replacing lists', () => {
  const file = {
    name: 'api-server',
    image: 'myapp:v1',
    replicas: 2,
    ports: [{ container_port: 80 }],
    env: { A: '1', B: '2' },
    resources: { cpus: 1, memory_mb: 256 },
    health_check: { type: 'http', port: 80, interval: '10s' },
    restart_policy: { condition: 'always', max_attempts: 5 },
  };
  const { body } = buildDeployBody(
    {
      image: 'myapp:v2',
      port: ['8080'],
      env: ['B=3'],
      memory: '512m',
      'health-interval': '5s',
      restart: 'never',
    },
    file,
  );
  assert.deepEqual(body, {
    name: 'api-server',
    image: 'myapp:v2',
    replicas: 2,
    ports: [{ container_port: 8080, protocol: 'tcp' }],
    env: { A: '1', B: '3' },
    resources: { cpus: 1, memory_mb: 512 },
    health_check: { type: 'http', port: 80, interval: '5s' },
    restart_policy: { condition: 'never', max_attempts: 5 },
  });
  assert.equal(file.image, 'myapp:v1', 'the file object is not mutated');
});

test('a file alone is enough, and its fields go to the server unchecked', () => {
  const { name, body } = buildDeployBody({}, { name: 'web', image: 'nginx', replicas: 'many' });
  assert.equal(name, 'web');
  assert.equal(body.replicas, 'many');
});

test('bad flag values are usage errors naming the flag', () => {
  const base = { name: 'web', image: 'nginx' };
  const cases: [Record<string, string | string[]>, RegExp][] = [
    [{ replicas: 'three' }, /--replicas/],
    [{ replicas: '-1' }, /--replicas/],
    [{ port: ['80:http'] }, /--port/],
    [{ port: ['70000'] }, /--port/],
    [{ memory: 'lots' }, /--memory/],
    [{ cpus: '0' }, /--cpus/],
    [{ 'cpu-shares': '1' }, /--cpu-shares/],
    [{ env: ['NOVALUE'] }, /--env/],
    [{ label: ['=x'] }, /--label/],
    [{ command: `sh -c 'unterminated` }, /--command: unterminated single quote/],
    [{ command: '   ' }, /--command must not be empty/],
    [{ 'health-type': 'grpc' }, /--health-type must be one of http, tcp, exec/],
    [{ 'health-type': 'http', 'health-interval': 'often' }, /--health-interval/],
    [{ 'health-type': 'tcp', 'health-port': '0' }, /--health-port/],
    [{ 'health-type': 'tcp', 'health-retries': '0' }, /--health-retries/],
    [{ restart: 'sometimes' }, /--restart/],
    [{ 'stop-grace-period': '10 seconds' }, /--stop-grace-period/],
  ];
  for (const [flags, message] of cases) {
    assert.throws(
      () => buildDeployBody({ ...base, ...flags }),
      { name: 'UsageError', message },
      String(message),
    );
  }
});

test('health flags without a type, and a missing name or image, are usage errors', () => {
  assert.throws(() => buildDeployBody({ name: 'web', image: 'nginx', 'health-port': '80' }), /--health-type/);
  assert.throws(() => buildDeployBody({ image: 'nginx' }), /--name is required/);
  assert.throws(() => buildDeployBody({ name: 'web' }), /--image is required/);
  assert.throws(() => buildDeployBody({ name: 'web' }), UsageError);
  // The file's check supplies the type.
  const { body } = buildDeployBody(
    { 'health-port': '81' },
    { name: 'web', image: 'nginx', health_check: { type: 'tcp', port: 80 } },
  );
  assert.deepEqual(body.health_check, { type: 'tcp', port: 81 });
});
