/**
 * The server's digest resolver against the real test registry (htpasswd + TLS from a test CA,
 * trusted through /etc/docker/certs.d as the engine trusts it), without Docker: a manifest is put
 * straight through the registry's v2 API, and its digest is what the resolver must find, with
 * the credential; without one or with a wrong one it is refused with the reason, an unknown tag
 * is "no such tag", and a closed port is unreachable.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { before, describe, test } from 'node:test';
import { HttpsDigestResolver } from '../src/registry/digest-resolver.ts';
import { basicAuthorization } from '../src/registry/registry-auth.ts';
import type { TestRegistry } from './support/registry.ts';
import { sharedRegistry } from './support/registry.ts';

const REPO = `reg-resolve-${process.pid}/app`;

function call(
  registry: TestRegistry,
  method: string,
  path: string,
  body: Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; location: string | undefined }> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(
      `https://${registry.host}${path}`,
      {
        method,
        ca: registry.caPem,
        headers: {
          authorization: basicAuthorization(registry),
          'content-length': String(body.length),
          ...headers,
        },
      },
      (response) => {
        response.resume();
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, location: response.headers.location }),
        );
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

async function putBlob(registry: TestRegistry, data: Buffer): Promise<string> {
  const digest = sha256(data);
  const started = await call(registry, 'POST', `/v2/${REPO}/blobs/uploads/`, Buffer.alloc(0));
  assert.equal(started.status, 202);
  const location = new URL(started.location ?? '', `https://${registry.host}`);
  location.searchParams.set('digest', digest);
  const put = await call(registry, 'PUT', `${location.pathname}${location.search}`, data, {
    'content-type': 'application/octet-stream',
  });
  assert.equal(put.status, 201);
  return digest;
}

/** Puts a one-layer image manifest under `tag`; its digest. */
async function putManifest(registry: TestRegistry, tag: string, note: string): Promise<string> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', note }));
  const layer = Buffer.from(`layer ${note}`);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: {
        mediaType: 'application/vnd.docker.container.image.v1+json',
        size: config.length,
        digest: await putBlob(registry, config),
      },
      layers: [
        {
          mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
          size: layer.length,
          digest: await putBlob(registry, layer),
        },
      ],
    }),
  );
  const put = await call(registry, 'PUT', `/v2/${REPO}/manifests/${tag}`, manifest, {
    'content-type': 'application/vnd.docker.distribution.manifest.v2+json',
  });
  assert.equal(put.status, 201);
  return sha256(manifest);
}

describe('digest resolution against the real registry', { timeout: 60_000 }, () => {
  let registry: TestRegistry;
  let digest: string;
  const resolver = new HttpsDigestResolver({ timeoutMs: 5000 });
  before(async () => {
    registry = await sharedRegistry();
    digest = await putManifest(registry, 'v1', 'first');
  });

  test('with the credential, the tag resolves to the manifest digest; a new push under it, to the new one', async () => {
    const reference = `${registry.host}/${REPO}:v1`;
    assert.deepEqual(await resolver.resolve(reference, registry), { kind: 'resolved', digest });
    const second = await putManifest(registry, 'v1', 'second');
    assert.notEqual(second, digest);
    assert.deepEqual(await resolver.resolve(reference, registry), { kind: 'resolved', digest: second });
  });

  test('no credential, a wrong one, an unknown tag: refused with the reason; a closed port: unreachable', async () => {
    const reference = `${registry.host}/${REPO}:v1`;
    const none = await resolver.resolve(reference, undefined);
    assert.deepEqual(none, {
      kind: 'unresolved',
      reachable: true,
      reason: `the registry asks for a credential: HTTP 401 (no credential stored: skiff registry login ${registry.host})`,
    });
    const wrong = await resolver.resolve(reference, { username: registry.username, password: 'wrong' });
    assert.equal(wrong.kind, 'unresolved');
    assert.match(
      wrong.kind === 'unresolved' ? wrong.reason : '',
      /HTTP 401 \(the stored credential of skiff-test was refused\)/,
    );
    const missing = await resolver.resolve(`${registry.host}/${REPO}:nope`, registry);
    assert.deepEqual(missing, {
      kind: 'unresolved',
      reachable: true,
      reason: 'no such tag or repository: HTTP 404',
    });
    const closed = await resolver.resolve('127.0.0.1:1/reg/none:v1', registry);
    assert.equal(closed.kind === 'unresolved' && closed.reachable, false);
    assert.match(closed.kind === 'unresolved' ? closed.reason : '', /ECONNREFUSED/);
  });
});
