import assert from 'node:assert/strict';
import { test } from 'node:test';
import { aliasConflict } from './alias-conflicts.ts';

const svc = (name: string, networks: string[], aliases?: string[]) => ({ name, networks, aliases });

test('an alias taken by another service on a shared network is a conflict naming it', () => {
  assert.deepEqual(
    aliasConflict(svc('shop-web', ['shop-default'], ['web']), [svc('shop-www', ['shop-default'], ['web'])]),
    {
      name: 'web',
      heldBy: 'shop-www',
      network: 'shop-default',
    },
  );
  assert.deepEqual(
    aliasConflict(svc('shop-web', ['default'], ['api']), [svc('api', ['default'])])?.heldBy,
    'api',
  );
  assert.deepEqual(aliasConflict(svc('web', ['default']), [svc('other', ['default'], ['web'])])?.name, 'web');
});

test('the same alias on networks of their own, or the service itself redeployed, is no conflict', () => {
  assert.equal(
    aliasConflict(svc('shop-web', ['shop-default'], ['web']), [svc('blog-web', ['blog-default'], ['web'])]),
    undefined,
  );
  assert.equal(
    aliasConflict(svc('shop-web', ['shop-default'], ['web']), [svc('shop-web', ['shop-default'], ['web'])]),
    undefined,
  );
  assert.equal(
    aliasConflict(svc('web', ['default']), [svc('shop-web', ['shop-default'], ['web'])]),
    undefined,
  );
});
