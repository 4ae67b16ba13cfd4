import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_POOL, networkAddressing, serviceVip } from '../../model/addressing.ts';
import type { ServiceEndpoints } from '../../protocol/messages.ts';
import { serviceRegistry } from './service-registry.ts';

/** Network 1 is `default`, 2 and 3 are two stacks' own networks. */
const service = (name: string, vip: number, network: number, aliases?: string[]): ServiceEndpoints => ({
  name,
  vip_index: vip,
  networks: [{ name: `net-${network}`, index: network }],
  ports: [],
  backends: [],
  ...(aliases ? { aliases } : {}),
});
/** A client address inside network `index`. */
const clientOn = (index: number) => networkAddressing(DEFAULT_POOL, index).gateway.replace(/\.1$/, '.9');

const registry = serviceRegistry(
  [service('web', 1, 1), service('shop-web', 2, 2, ['web']), service('blog-web', 3, 3, ['web'])],
  DEFAULT_POOL,
);

test('an alias resolves for clients on its service’s network, to that service’s VIP', () => {
  assert.equal(registry.vipFor('web', clientOn(2)), serviceVip(DEFAULT_POOL, 2, 2));
  assert.equal(registry.vipFor('web', clientOn(3)), serviceVip(DEFAULT_POOL, 3, 3));
  assert.equal(registry.vipFor('shop-web', clientOn(2)), serviceVip(DEFAULT_POOL, 2, 2));
});

test('the service named web wins on its own network; no stack’s alias leaks to another network', () => {
  assert.equal(registry.vipFor('web', clientOn(1)), serviceVip(DEFAULT_POOL, 1, 1));
  assert.equal(registry.vipFor('shop-web', clientOn(3)), undefined);
  assert.equal(registry.vipFor('web', clientOn(4)), undefined);
  assert.deepEqual(registry.endpointsFor('web', 80, clientOn(2)), []);
  assert.equal(registry.endpointsFor('web', 80, clientOn(4)), undefined);
});
