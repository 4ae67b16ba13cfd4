import assert from 'node:assert/strict';
import { test } from 'node:test';
import { serviceSpecSchema } from './service-spec.ts';
import {
  hasSingleWriterVolume,
  overlappingTmpfsTarget,
  replicaVolumes,
  resolveVolumeSource,
  volumeMounts,
  volumeReplicaProblem,
} from './volume-spec.ts';

const spec = (volumes: unknown, extra: Record<string, unknown> = {}) =>
  serviceSpecSchema.safeParse({ name: 'db', image: 'x', volumes, ...extra });
const problems = (volumes: unknown) => {
  const parsed = spec(volumes);
  assert.equal(parsed.success, false, 'refused');
  return (parsed.error?.issues ?? []).map((i) => `${i.path.join('.')}: ${i.message}`);
};

test("Swarm's templates give each replica a volume of its own", () => {
  assert.equal(resolveVolumeSource('data-{{.Task.Slot}}', { service: 'db', slot: 2 }), 'data-2');
  assert.equal(resolveVolumeSource('{{.Service.Name}}-{{ .Task.Slot }}', { service: 'db', slot: 0 }), 'db-0');
  const parsed = spec([{ source: 'data-{{.Task.Slot}}', target: '/var/lib/db' }], { replicas: 3 });
  assert.ok(parsed.success);
  const names = [0, 1, 2].map((slot) => replicaVolumes(parsed.data, slot).map((v) => v.name));
  assert.deepEqual(names, [['data-0'], ['data-1'], ['data-2']]);
  assert.equal(parsed.data.volumes?.[0]?.type, 'volume', 'type defaults to volume');
  assert.equal(hasSingleWriterVolume(parsed.data), true, 'single-writer by default');
});

test('schema errors name the field', () => {
  assert.deepEqual(problems([{ type: 'bind', target: '/etc/conf' }]), [
    'volumes.0.source: a bind mount needs the host path as its source',
  ]);
  assert.deepEqual(problems([{ type: 'bind', source: 'conf', target: '/etc/conf' }]), [
    'volumes.0.source: must be an absolute path on the host',
  ]);
  assert.deepEqual(problems([{ type: 'tmpfs', source: 'x', target: '/t' }]), [
    'volumes.0.source: a tmpfs has no source',
  ]);
  assert.deepEqual(problems([{ source: 'data', target: 'relative' }]), [
    'volumes.0.target: must be an absolute path in the container',
  ]);
  assert.match(
    problems([{ source: 'data-{{.Node.Hostname}}', target: '/d' }])[0] ?? '',
    /^volumes\.0\.source: unknown template/,
  );
  assert.match(problems([{ source: '-bad', target: '/d' }])[0] ?? '', /^volumes\.0\.source: a volume name/);
  assert.deepEqual(problems([{ source: 'data', target: '/d', size_mb: 5 }]), [
    'volumes.0.size_mb: only a tmpfs has a size',
  ]);
  assert.deepEqual(problems([{ type: 'bind', source: '/srv', target: '/d', shared: true }]), [
    'volumes.0.shared: only a named volume can be shared (or not)',
  ]);
  assert.deepEqual(problems([{ source: 'a', target: '/d', drive: 'nfs' }]), [
    'volumes.0: Unrecognized key: "drive"',
  ]);
  assert.deepEqual(
    problems([
      { source: 'a', target: '/d' },
      { source: 'b', target: '/d' },
    ]),
    ['volumes: must not name a target twice'],
  );
});

test('a single-writer volume every replica would share is refused beyond one replica; shared or per-slot is not', () => {
  const parse = (volumes: unknown) => {
    const parsed = spec(volumes);
    assert.ok(parsed.success);
    return parsed.data;
  };
  const one = parse([{ source: 'data', target: '/d' }]);
  assert.equal(volumeReplicaProblem(one, 1), null);
  assert.match(
    volumeReplicaProblem(one, 3)?.message ?? '',
    /3 replicas cannot all write the single-writer volume data.*data-\{\{\.Task\.Slot\}\}.*shared: true/,
  );
  assert.equal(volumeReplicaProblem(parse([{ source: 'data', target: '/d', shared: true }]), 3), null);
  assert.equal(volumeReplicaProblem(parse([{ source: 'd-{{.Task.Slot}}', target: '/d' }]), 3), null);
  assert.equal(
    volumeReplicaProblem({ ...one, mode: 'global' }, 3),
    null,
    'a global service has one per node',
  );
  assert.deepEqual(overlappingTmpfsTarget({ volumes: one.volumes, tmpfs: [{ target: '/d' }] }), {
    index: 0,
    target: '/d',
  });
});

test('the Docker mounts: named, anonymous, bind and tmpfs, read-only where asked', () => {
  const parsed = spec([
    { source: 'data-{{.Task.Slot}}', target: '/d' },
    { target: '/anon' },
    { type: 'bind', source: '/srv/conf', target: '/etc/conf', read_only: true },
    { type: 'tmpfs', target: '/t', size_mb: 16, mode: '1777' },
  ]);
  assert.ok(parsed.success);
  assert.deepEqual(volumeMounts(parsed.data, 1), [
    { Type: 'volume', Source: 'data-1', Target: '/d' },
    { Type: 'volume', Target: '/anon' },
    { Type: 'bind', Source: '/srv/conf', Target: '/etc/conf', ReadOnly: true },
    { Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 16 * 1024 * 1024, Mode: 0o1777 } },
  ]);
  assert.deepEqual(replicaVolumes(parsed.data, 1), [{ name: 'data-1', target: '/d', shared: false }]);
});
