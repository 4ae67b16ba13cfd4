import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dockerNetworkName } from '../model/addressing.ts';
import { serviceSpecSchema } from '../model/service-spec.ts';
import type { TaskSpec } from '../protocol/messages.ts';
import { unusedNetworks } from './network-sweep.ts';

const task = (networks: string[]): TaskSpec => ({
  task_id: `t-${networks.join('-')}`,
  service: 'web',
  slot: 0,
  revision: 1,
  spec: serviceSpecSchema.parse({ name: 'web', image: 'skiff-demo:v1', networks }),
  networks: networks.map((name, index) => ({ name, index })),
});
const net = (name: string) => dockerNetworkName('c1', name);

test('networks no desired task uses are unused; the ones a task uses stay', () => {
  const own = [net('shop-default'), net('default'), net('blog-default')];
  assert.deepEqual(unusedNetworks(own, [task(['default']), task(['blog-default'])], 'c1'), [
    net('shop-default'),
  ]);
});

test('with nothing desired every network of the cluster is unused', () => {
  assert.deepEqual(unusedNetworks([net('b'), net('a')], [], 'c1'), [net('a'), net('b')]);
});
