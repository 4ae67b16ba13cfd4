import assert from 'node:assert/strict';
import { test } from 'node:test';
import { imageParts, pinnedReference, pullReference, registryOf, withoutDigest } from './image-parts.ts';

const DIGEST = `sha256:${'a'.repeat(64)}`;

test('the registry is the first component only when it looks like a host, as Docker decides', () => {
  assert.deepEqual(imageParts('nginx'), {
    registry: 'docker.io',
    repository: 'library/nginx',
    tag: null,
    digest: null,
  });
  assert.deepEqual(imageParts('team/app:v2'), {
    registry: 'docker.io',
    repository: 'team/app',
    tag: 'v2',
    digest: null,
  });
  assert.deepEqual(imageParts('registry.example.com:5000/team/app:v2'), {
    registry: 'registry.example.com:5000',
    repository: 'team/app',
    tag: 'v2',
    digest: null,
  });
  assert.deepEqual(imageParts(`127.0.0.1:5000/reg/app:v1@${DIGEST}`), {
    registry: '127.0.0.1:5000',
    repository: 'reg/app',
    tag: 'v1',
    digest: DIGEST,
  });
  assert.deepEqual(imageParts(`localhost/app@${DIGEST}`), {
    registry: 'localhost',
    repository: 'app',
    tag: null,
    digest: DIGEST,
  });
  assert.equal(registryOf('skiff-demo:v1'), 'docker.io');
  assert.equal(registryOf('ghcr.io/o/r'), 'ghcr.io');
});

test('pinning keeps the tag, replaces an older digest, and a bare name pulls :latest', () => {
  assert.equal(pinnedReference('h:5000/app:v1', DIGEST), `h:5000/app:v1@${DIGEST}`);
  assert.equal(pinnedReference(`h:5000/app:v1@sha256:${'b'.repeat(64)}`, DIGEST), `h:5000/app:v1@${DIGEST}`);
  assert.equal(withoutDigest(`app:v1@${DIGEST}`), 'app:v1');
  assert.equal(pullReference('h:5000/app'), 'h:5000/app:latest');
  assert.equal(pullReference('h:5000/app:v1'), 'h:5000/app:v1');
  assert.equal(pullReference(`h:5000/app@${DIGEST}`), `h:5000/app@${DIGEST}`);
});
