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

test('Docker’s privilege, namespace, secret and config flags land in the spec’s fields', () => {
  const { body } = buildDeployBody({
    name: 'tools',
    image: 'busybox',
    privileged: true,
    'cap-add': ['net_admin', 'CAP_SYS_TIME'],
    'cap-drop': ['ALL'],
    user: '1000:1000',
    'read-only': true,
    init: true,
    'stop-signal': 'int',
    network: ['backend', 'default'],
    'network-mode': 'host',
    pid: 'host',
    ipc: 'host',
    uts: 'host',
    userns: 'host',
    device: ['/dev/fuse', '/dev/sda:/dev/xvda:r'],
    sysctl: ['net.ipv4.tcp_syncookies=1', 'net.core.somaxconn=1024'],
    'security-opt': ['seccomp=unconfined', 'apparmor=default'],
    secret: ['db-password', 'tls.key:/etc/tls/key.pem', 'source=api-token,target=token,mode=0440'],
    config: ['nginx.conf:/etc/nginx/nginx.conf', 'src=motd'],
  });
  assert.deepEqual(
    { ...body, name: undefined, image: undefined },
    {
      name: undefined,
      image: undefined,
      privileged: true,
      cap_add: ['NET_ADMIN', 'SYS_TIME'],
      cap_drop: ['ALL'],
      user: '1000:1000',
      read_only: true,
      init: true,
      stop_signal: 'SIGINT',
      networks: ['backend', 'default'],
      network_mode: 'host',
      pid_mode: 'host',
      ipc_mode: 'host',
      uts_mode: 'host',
      userns_mode: 'host',
      devices: ['/dev/fuse', '/dev/sda:/dev/xvda:r'],
      sysctls: { 'net.ipv4.tcp_syncookies': '1', 'net.core.somaxconn': '1024' },
      seccomp: 'unconfined',
      apparmor: 'default',
      secrets: [
        { name: 'db-password' },
        { name: 'tls.key', target: '/etc/tls/key.pem' },
        { name: 'api-token', target: 'token', mode: 0o440 },
      ],
      configs: [{ name: 'nginx.conf', target: '/etc/nginx/nginx.conf' }, { name: 'motd' }],
    },
  );
  const parsed = serviceSpecSchema.safeParse(body);
  assert.equal(parsed.success, true, JSON.stringify(parsed.error?.issues));
});

test('privilege flags replace the file’s fields; absent flags leave the file alone', () => {
  const file = {
    name: 'web',
    image: 'busybox',
    cap_add: ['NET_RAW'],
    secrets: [{ name: 'a' }],
    user: 'nobody',
  };
  const { body } = buildDeployBody({ 'cap-add': ['NET_ADMIN'] }, file);
  assert.deepEqual(body.cap_add, ['NET_ADMIN']);
  assert.deepEqual(body.secrets, [{ name: 'a' }]);
  assert.equal(body.user, 'nobody');
  assert.equal(body.privileged, undefined, 'no flag, no field: the server’s default stands');
  assert.equal(body.read_only, undefined);
});

test('privilege flags that cannot be right are usage errors naming the flag', () => {
  const base = { name: 'web', image: 'busybox' };
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ 'network-mode': 'bridge' }, /--network-mode must be one of host/],
    [{ pid: 'container:x' }, /--pid must be one of host/],
    [{ network: ['host'] }, /--network-mode host/],
    [{ sysctl: ['net.core.somaxconn'] }, /--sysctl must be KEY=VALUE/],
    [{ 'security-opt': ['label=disable'] }, /--security-opt: only seccomp/],
    [
      { 'security-opt': ['seccomp=/tmp/profile.json'] },
      /--security-opt seccomp must be one of default, unconfined/,
    ],
    [{ secret: [':/run/x'] }, /--secret needs NAME\[:TARGET\]/],
    [{ secret: ['db:'] }, /--secret needs NAME\[:TARGET\]/],
    [{ secret: ['target=/x'] }, /--secret: source=NAME is required/],
    [{ config: ['source=a,uid=0'] }, /--config: unknown key uid/],
    [{ secret: ['source=a,mode=rw'] }, /--secret: mode must be octal/],
  ];
  for (const [flags, message] of cases) {
    assert.throws(
      () => buildDeployBody({ ...base, ...flags }),
      (error: unknown) => error instanceof UsageError && message.test(error.message),
      JSON.stringify(flags),
    );
  }
});
