import assert from 'node:assert/strict';
import { test } from 'node:test';
import { looseCopy } from './loose.ts';
import { serviceSpecSchema } from './service-spec.ts';

const BASE = {
  name: 'web',
  image: 'skiff-demo:v1',
  ports: [{ container_port: 80 }],
  health_check: { type: 'tcp', port: 80 },
  update: { max_surge: 1 },
};

test('the strict spec refuses unknown keys at every depth; its loose copy strips them', () => {
  const loose = looseCopy(serviceSpecSchema);
  const newer = {
    ...BASE,
    paused: true,
    ports: [{ container_port: 80, weight: 3 }],
    health_check: { type: 'tcp', port: 80, grpc_service: 'x' },
    update: { max_surge: 1, canary: 1 },
    resources: { gpus: 1 },
  };
  assert.equal(serviceSpecSchema.safeParse(newer).success, false);
  const read = loose.parse(newer);
  assert.equal('paused' in read, false);
  assert.equal('weight' in (read.ports[0] ?? {}), false);
  assert.deepEqual(read, serviceSpecSchema.parse(BASE), 'same defaults, same values');
});

test('the loose copy keeps every check and refinement', () => {
  const loose = looseCopy(serviceSpecSchema);
  assert.equal(loose.safeParse({ ...BASE, name: 'Bad_Name' }).success, false);
  assert.equal(loose.safeParse({ ...BASE, health_check: { type: 'http' } }).success, false, 'superRefine');
  assert.equal(loose.safeParse({ ...BASE, update: { max_surge: 0, max_unavailable: 0 } }).success, false);
  assert.equal(loose.safeParse({ ...BASE, stop_grace_period: '2h' }).success, false);
  assert.equal(
    serviceSpecSchema.safeParse({ ...BASE, extra: 1 }).success,
    false,
    'the original stays strict',
  );
});

test('without checks, the copy reads what older limits let in, with the same defaults', () => {
  const lax = looseCopy(serviceSpecSchema, { checks: false });
  const old = {
    name: 'web',
    image: 'Old Image',
    resources: { cpus: 0.0001 },
    health_check: { type: 'tcp', port: 80, interval: '600h' },
    env: Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`K${i}`, 'v'])),
    networks: ['a', 'a'],
  };
  assert.equal(looseCopy(serviceSpecSchema).safeParse(old).success, false);
  const read = lax.parse(old);
  assert.equal(read.health_check?.interval, '600h');
  assert.equal(read.replicas, 1);
  assert.equal(Object.keys(read.env).length, 2000);
  assert.equal(lax.safeParse({ ...old, replicas: 'three' }).success, false, 'types still hold');
});
