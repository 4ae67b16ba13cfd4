import assert from 'node:assert/strict';
import { test } from 'node:test';
import { serviceSpecSchema } from '../model/service-spec.ts';
import { buildDeployBody } from './deploy-body.ts';
import { UsageError } from './errors.ts';

const body = (flags: { volume?: string[]; mount?: string[] }, file = {}) =>
  buildDeployBody({ name: 'db', image: 'x', ...flags }, file).body;

test('-v and --mount become the spec’s volumes, as Docker spells them', () => {
  const built = body({
    volume: ['data-{{.Task.Slot}}:/var/lib/db', '/srv/conf:/etc/conf:ro', '/scratch'],
    mount: [
      'type=tmpfs,target=/cache,tmpfs-size=64m',
      'type=volume,source=media,target=/media,readonly,shared',
    ],
  });
  assert.deepEqual(built.volumes, [
    { type: 'volume', source: 'data-{{.Task.Slot}}', target: '/var/lib/db' },
    { type: 'bind', source: '/srv/conf', target: '/etc/conf', read_only: true },
    { type: 'volume', target: '/scratch' },
    { type: 'tmpfs', target: '/cache', size_mb: 64 },
    { type: 'volume', source: 'media', target: '/media', read_only: true, shared: true },
  ]);
  assert.ok(serviceSpecSchema.safeParse(built).success, 'a valid spec');
});

test('the flags replace the file’s volumes; without them the file’s stand; mistakes name the flag', () => {
  const file = { volumes: [{ source: 'old', target: '/old' }] };
  assert.deepEqual(body({}, file).volumes, file.volumes);
  assert.deepEqual(body({ volume: ['new:/new'] }, file).volumes, [
    { type: 'volume', source: 'new', target: '/new' },
  ]);
  assert.throws(
    () => body({ volume: ['a:b:c:d'] }),
    (e: unknown) => e instanceof UsageError && /--volume a:b:c:d/.test(e.message),
  );
  assert.throws(() => body({ mount: ['type=volume,source=x'] }), /--mount .*target= is required/);
  assert.throws(() => body({ mount: ['type=volume,target=/x,driver=nfs'] }), /unknown option driver/);
});
