/**
 * The privilege block of a spec reaches the Docker create body as HostConfig fields, a plain spec
 * asks for none of them, and host networking leaves out Skiff's networks, resolver and ports;
 * init and the stop signal reach it too.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_POOL } from '../model/addressing.ts';
import type { ServiceSpecInput } from '../model/service-spec.ts';
import { serviceSpecSchema } from '../model/service-spec.ts';
import type { TaskSpec } from '../protocol/messages.ts';
import { containerDefinition } from './container-definition.ts';

const CLUSTER = { clusterId: 'cluster-1', pool: DEFAULT_POOL };

const task = (extra: Partial<ServiceSpecInput>): TaskSpec => ({
  task_id: 't0123456789abcdef',
  service: 'web',
  slot: 2,
  revision: 1,
  spec: serviceSpecSchema.parse({
    name: 'web',
    image: 'skiff-demo:v1',
    ports: [{ container_port: 80 }],
    ...extra,
  }),
  networks: [{ name: 'default', index: 0 }],
});

test('init, stop signal and grace period reach the create body', () => {
  const { body } = containerDefinition(
    task({ init: true, stop_signal: 'SIGQUIT', stop_grace_period: '2500ms' }),
    CLUSTER,
  );
  assert.equal((body.HostConfig as Record<string, unknown>).Init, true);
  assert.equal(body.StopSignal, 'SIGQUIT');
  assert.equal(body.StopTimeout, 3, 'whole seconds, rounded up');
});

test("without them the image's own behaviour stands", () => {
  const { body } = containerDefinition(task({}), CLUSTER);
  assert.equal((body.HostConfig as Record<string, unknown>).Init, undefined);
  assert.equal(body.StopSignal, undefined);
  assert.equal(body.StopTimeout, 10);
});

test('stop signals come from a fixed list', () => {
  assert.equal(
    serviceSpecSchema.safeParse({ name: 'web', image: 'x', stop_signal: 'SIGTERM' }).success,
    true,
  );
  for (const bad of ['TERM', 'SIGFOO', 'sigterm', '15', 'SIGTERM; rm -rf /']) {
    assert.equal(
      serviceSpecSchema.safeParse({ name: 'web', image: 'x', stop_signal: bad }).success,
      false,
      bad,
    );
  }
  assert.equal(serviceSpecSchema.safeParse({ name: 'web', image: 'x', init: 'yes' }).success, false);
});

test('each attempt of a task gets a container name of its own', () => {
  const names = [0, 1, 2].map((attempt) => containerDefinition(task({}), CLUSTER, attempt).name);
  assert.deepEqual(names, ['web-2.t0123456789a', 'web-2.t0123456789a.1', 'web-2.t0123456789a.2']);
});

const hostConfig = (extra: Partial<ServiceSpecInput>) =>
  containerDefinition(task(extra), CLUSTER).body.HostConfig as Record<string, unknown>;

test('a plain spec sets no privilege field', () => {
  const config = hostConfig({});
  for (const key of [
    'Privileged',
    'CapAdd',
    'CapDrop',
    'ReadonlyRootfs',
    'PidMode',
    'Devices',
    'Sysctls',
    'SecurityOpt',
  ])
    assert.equal(key in config, false, key);
  assert.equal(config.NetworkMode, containerDefinition(task({}), CLUSTER).networks[0]?.name);
});

test('privileges map to HostConfig', () => {
  const definition = containerDefinition(
    task({
      privileged: true,
      cap_add: ['NET_ADMIN'],
      cap_drop: ['MKNOD'],
      user: '1000:1000',
      read_only: true,
      pid_mode: 'host',
      ipc_mode: 'host',
      uts_mode: 'host',
      userns_mode: 'host',
      devices: ['/dev/fuse', '/dev/sda:/dev/xvda:r', '/dev/null:rw'],
      sysctls: { 'net.ipv4.tcp_syncookies': '1' },
      seccomp: 'unconfined',
      apparmor: 'unconfined',
    }),
    CLUSTER,
  );
  const config = definition.body.HostConfig as Record<string, unknown>;
  assert.equal(definition.body.User, '1000:1000');
  assert.equal(config.Privileged, true);
  assert.deepEqual(config.CapAdd, ['NET_ADMIN']);
  assert.deepEqual(config.CapDrop, ['MKNOD']);
  assert.equal(config.ReadonlyRootfs, true);
  assert.equal(config.PidMode, 'host');
  assert.equal(config.IpcMode, 'host');
  assert.equal(config.UTSMode, 'host');
  assert.equal(config.UsernsMode, 'host');
  assert.deepEqual(config.Devices, [
    { PathOnHost: '/dev/fuse', PathInContainer: '/dev/fuse', CgroupPermissions: 'rwm' },
    { PathOnHost: '/dev/sda', PathInContainer: '/dev/xvda', CgroupPermissions: 'r' },
    { PathOnHost: '/dev/null', PathInContainer: '/dev/null', CgroupPermissions: 'rw' },
  ]);
  assert.deepEqual(config.Sysctls, { 'net.ipv4.tcp_syncookies': '1' });
  assert.deepEqual(config.SecurityOpt, ['seccomp=unconfined', 'apparmor=unconfined']);
});

test('host networking: the host network, no Skiff network, resolver, aliases or port bindings', () => {
  const definition = containerDefinition(task({ network_mode: 'host' }), CLUSTER);
  const config = definition.body.HostConfig as Record<string, unknown>;
  assert.equal(config.NetworkMode, 'host');
  assert.equal('Dns' in config, false);
  assert.equal('PortBindings' in config, false);
  assert.equal('NetworkingConfig' in definition.body, false);
  assert.deepEqual(definition.networks, []);
  assert.deepEqual(definition.aliases, []);
});

test('entrypoint, working dir, extra hosts, ulimits and tmpfs reach the create body; unset, none is sent', () => {
  const { body } = containerDefinition(
    task({
      entrypoint: ['/bin/sh', '-c'],
      working_dir: '/srv',
      extra_hosts: ['db.internal:10.0.0.5'],
      ulimits: { nofile: { soft: 1024, hard: 4096 } },
      tmpfs: [{ target: '/cache', size_mb: 16, mode: '1777' }, { target: '/run' }],
    }),
    CLUSTER,
  );
  const config = body.HostConfig as Record<string, unknown>;
  assert.deepEqual(body.Entrypoint, ['/bin/sh', '-c']);
  assert.equal(body.WorkingDir, '/srv');
  assert.deepEqual(config.ExtraHosts, ['db.internal:10.0.0.5']);
  assert.deepEqual(config.Ulimits, [{ Name: 'nofile', Soft: 1024, Hard: 4096 }]);
  assert.deepEqual(config.Tmpfs, { '/cache': 'size=16m,mode=1777', '/run': '' });
  const plain = containerDefinition(task({}), CLUSTER).body;
  for (const key of ['Entrypoint', 'WorkingDir']) assert.equal(plain[key], undefined, key);
  for (const key of ['ExtraHosts', 'Ulimits', 'Tmpfs'])
    assert.equal((plain.HostConfig as Record<string, unknown>)[key], undefined, key);
});

test('runtime fields are checked: relative paths, bad hosts, soft over hard, a tmpfs target twice', () => {
  const bad = [
    { working_dir: 'srv' },
    { extra_hosts: ['no-address'] },
    { ulimits: { nofile: { soft: 10, hard: 5 } } },
    { tmpfs: [{ target: '/a' }, { target: '/a' }] },
    { aliases: ['Not_A_Label'] },
  ];
  for (const extra of bad)
    assert.equal(
      serviceSpecSchema.safeParse({ name: 'web', image: 'skiff-demo:v1', ...extra }).success,
      false,
      JSON.stringify(extra),
    );
});

test('engine-chosen ports are published on the cluster address; a host-mode host_port on every address', () => {
  const spec = task({
    ports: [
      { container_port: 80 },
      { container_port: 443, host_port: 8443 },
      { container_port: 5432, host_port: 5432, mode: 'host' },
      { container_port: 53, protocol: 'udp' },
    ],
  });
  const bindings = (address?: string) =>
    (containerDefinition(spec, CLUSTER, 0, [], address).body.HostConfig as Record<string, unknown>)
      .PortBindings;
  assert.deepEqual(bindings('192.168.1.10'), {
    '80/tcp': [{ HostIp: '192.168.1.10', HostPort: '' }],
    '443/tcp': [{ HostIp: '192.168.1.10', HostPort: '' }],
    '5432/tcp': [{ HostPort: '5432' }],
    '53/udp': [{ HostIp: '192.168.1.10', HostPort: '' }],
  });
  assert.deepEqual(bindings(undefined), {
    '80/tcp': [{ HostPort: '' }],
    '443/tcp': [{ HostPort: '' }],
    '5432/tcp': [{ HostPort: '5432' }],
    '53/udp': [{ HostPort: '' }],
  });
});

test("the image's EXPOSE ports are published like the spec's own; the spec's binding of a port wins", () => {
  const spec = task({ ports: [{ container_port: 80, host_port: 80, mode: 'host' }] });
  const { body } = containerDefinition(spec, CLUSTER, 0, [], '192.168.1.10', [
    '80/tcp',
    '9000/tcp',
    '53/udp',
    'nonsense',
  ]);
  assert.deepEqual((body.HostConfig as Record<string, unknown>).PortBindings, {
    '80/tcp': [{ HostPort: '80' }],
    '9000/tcp': [{ HostIp: '192.168.1.10', HostPort: '' }],
    '53/udp': [{ HostIp: '192.168.1.10', HostPort: '' }],
  });
  assert.deepEqual(Object.keys(body.ExposedPorts as object), ['80/tcp', '9000/tcp', '53/udp']);
});

test('an image exposing a range has only its first ports published', () => {
  const range = Array.from({ length: 1000 }, (_, i) => `${10_000 + i}/tcp`);
  const { body } = containerDefinition(task({ ports: [] }), CLUSTER, 0, [], undefined, range);
  assert.equal(Object.keys((body.HostConfig as Record<string, object>).PortBindings ?? {}).length, 32);
});

test("volumes become Mounts, and the named ones the container's skiff.volumes label", () => {
  const { body } = containerDefinition(
    task({
      volumes: [
        { source: 'data-{{.Task.Slot}}', target: '/data' },
        { source: 'media', target: '/media', shared: true, read_only: true },
        { target: '/scratch' },
      ],
    }),
    CLUSTER,
  );
  assert.deepEqual((body.HostConfig as Record<string, unknown>).Mounts, [
    { Type: 'volume', Source: 'data-2', Target: '/data' },
    { Type: 'volume', Source: 'media', Target: '/media', ReadOnly: true },
    { Type: 'volume', Target: '/scratch' },
  ]);
  assert.equal((body.Labels as Record<string, string>)['skiff.volumes'], 'data-2,media:shared');
  const plain = containerDefinition(task({}), CLUSTER).body;
  assert.equal((plain.HostConfig as Record<string, unknown>).Mounts, undefined);
  assert.equal((plain.Labels as Record<string, string>)['skiff.volumes'], undefined);
});
