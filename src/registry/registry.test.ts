import assert from 'node:assert/strict';
import { test } from 'node:test';
import { imageParts } from '../model/image-parts.ts';
import { digestFrom, manifestUrl, parseChallenge, tokenFrom, tokenUrl } from './manifest-request.ts';
import { pinImage, wantsResolution } from './pin-image.ts';
import { basicAuthorization, registryAuthHeader } from './registry-auth.ts';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const OTHER = `sha256:${'b'.repeat(64)}`;

test('X-Registry-Auth is base64url JSON with padding, keyed by the host (Docker Hub by its v1 address)', () => {
  const header = registryAuthHeader('127.0.0.1:5000', { username: 'u?>', password: 'p~~~' });
  assert.doesNotMatch(header, /[+/]/);
  const decoded = JSON.parse(
    Buffer.from(header.replaceAll('-', '+').replaceAll('_', '/'), 'base64').toString(),
  );
  assert.deepEqual(decoded, { username: 'u?>', password: 'p~~~', serveraddress: '127.0.0.1:5000' });
  assert.equal(header.length % 4, 0);
  const hub = JSON.parse(
    Buffer.from(registryAuthHeader('docker.io', { username: 'a', password: 'b' }), 'base64url').toString(),
  );
  assert.equal(hub.serveraddress, 'https://index.docker.io/v1/');
  assert.equal(
    basicAuthorization({ username: 'a', password: 'b:c' }),
    `Basic ${Buffer.from('a:b:c').toString('base64')}`,
  );
});

test('the manifest URL names the repository and tag; Docker Hub is asked at registry-1', () => {
  assert.equal(
    manifestUrl(imageParts('127.0.0.1:5000/reg/app:v1')),
    'https://127.0.0.1:5000/v2/reg/app/manifests/v1',
  );
  assert.equal(manifestUrl(imageParts('h.example/app')), 'https://h.example/v2/app/manifests/latest');
  assert.equal(
    manifestUrl(imageParts('nginx:1.27')),
    'https://registry-1.docker.io/v2/library/nginx/manifests/1.27',
  );
});

test('challenges: Basic, Bearer with quoted parameters, and schemes the resolver does not speak', () => {
  assert.deepEqual(parseChallenge('Basic realm="skiff-test"'), { scheme: 'basic' });
  const bearer = parseChallenge(
    'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:team/app:pull"',
  );
  assert.deepEqual(bearer, {
    scheme: 'bearer',
    realm: 'https://auth.example/token',
    service: 'registry.example',
    scope: 'repository:team/app:pull',
  });
  assert.equal(parseChallenge('Negotiate abc'), undefined);
  assert.equal(parseChallenge('Bearer service="x"'), undefined);
  assert.equal(parseChallenge(undefined), undefined);
  if (bearer?.scheme !== 'bearer') throw new Error('not bearer');
  assert.equal(
    tokenUrl(bearer, imageParts('registry.example/team/app:v1')),
    'https://auth.example/token?service=registry.example&scope=repository%3Ateam%2Fapp%3Apull',
  );
  assert.equal(
    tokenUrl({ scheme: 'bearer', realm: 'https://a/t' }, imageParts('r.example/x/y')),
    'https://a/t?scope=repository%3Ax%2Fy%3Apull',
  );
  assert.equal(tokenFrom({ token: 't1' }), 't1');
  assert.equal(tokenFrom({ access_token: 't2' }), 't2');
  assert.equal(tokenFrom({ token: '' }), undefined);
  assert.equal(tokenFrom('x'), undefined);
});

test('the digest is the header when it is one, else the SHA-256 of the manifest bytes', () => {
  assert.equal(digestFrom(DIGEST, undefined), DIGEST);
  assert.equal(
    digestFrom(' not-a-digest ', Buffer.from('{}')),
    'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  );
  assert.equal(digestFrom(undefined, Buffer.alloc(0)), undefined);
});

test('only a tag on a registry with a credential is resolved', () => {
  const has = (registry: string) => registry === '127.0.0.1:5000';
  assert.equal(wantsResolution('127.0.0.1:5000/app:v1', has), true);
  assert.equal(wantsResolution(`127.0.0.1:5000/app:v1@${DIGEST}`, has), false);
  assert.equal(wantsResolution('skiff-demo:v1', has), false);
  assert.equal(wantsResolution('other.example/app:v1', has), false);
});

test('pinning: resolved pins (an event only when the digest is news); unresolved keeps the running pin or runs the tag', () => {
  const base = { service: 'reg-web', image: 'h:1/app:v1' };
  const first = pinImage({
    ...base,
    storedImage: undefined,
    resolution: { kind: 'resolved', digest: DIGEST },
  });
  assert.equal(first.image, `h:1/app:v1@${DIGEST}`);
  assert.match(first.event?.message ?? '', /resolved to sha256:a+: every replica runs that digest/);
  const same = pinImage({
    ...base,
    storedImage: `h:1/app:v1@${DIGEST}`,
    resolution: { kind: 'resolved', digest: DIGEST },
  });
  assert.deepEqual(same, { image: `h:1/app:v1@${DIGEST}`, event: null });
  const moved = pinImage({
    ...base,
    storedImage: `h:1/app:v1@${DIGEST}`,
    resolution: { kind: 'resolved', digest: OTHER },
  });
  assert.equal(moved.image, `h:1/app:v1@${OTHER}`);

  const away = { kind: 'unresolved', reachable: false, reason: 'connect ECONNREFUSED' } as const;
  const kept = pinImage({ ...base, storedImage: `h:1/app:v1@${DIGEST}`, resolution: away });
  assert.equal(kept.image, `h:1/app:v1@${DIGEST}`);
  assert.match(
    kept.event?.message ?? '',
    /unreachable: connect ECONNREFUSED\): keeping sha256:a+ from the running revision/,
  );
  const fresh = pinImage({ ...base, storedImage: 'h:1/app:v0', resolution: away });
  assert.equal(fresh.image, 'h:1/app:v1');
  assert.match(fresh.event?.message ?? '', /deploying the tag unpinned/);
  const refused = pinImage({
    ...base,
    storedImage: undefined,
    resolution: { kind: 'unresolved', reachable: true, reason: 'HTTP 401' },
  });
  assert.match(refused.event?.message ?? '', /registry h:1 answered: HTTP 401/);
  assert.deepEqual(pinImage({ ...base, storedImage: undefined, resolution: undefined }), {
    image: 'h:1/app:v1',
    event: null,
  });
});
