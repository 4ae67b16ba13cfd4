/**
 * The dashboard's files through the app: index.html at `/` and for client routes, never for the
 * server's own paths; content types; immutable caching for hashed assets only; the CSP; no way
 * out of the asset directory; and the page saying how to build when there is no build.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { directoryAssets } from '../build/embedded-assets.ts';
import { assetPath, DirectoryAssets } from './static-assets.ts';
import type { Fixture } from './test-fixture.ts';
import { createFixture } from './test-fixture.ts';

const INDEX =
  '<!doctype html><div id="root"></div><script type="module" src="/assets/index-AbC123_x.js"></script>';

describe('a built dashboard', () => {
  let dir: string;
  let f: Fixture;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-dist-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), INDEX);
    writeFileSync(join(dir, 'assets', 'index-AbC123_x.js'), 'console.log(1)');
    writeFileSync(join(dir, 'assets', 'index-Zz9yX8wV.css'), 'body{}');
    writeFileSync(join(dir, 'favicon.svg'), '<svg/>');
    writeFileSync(join(dir, '..', 'secret-beside-dist.txt'), 'no');
    f = createFixture({ deps: { assets: new DirectoryAssets(dir) } });
  });
  after(() => {
    f.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(join(dir, '..', 'secret-beside-dist.txt'), { force: true });
  });

  test('/ and client routes are index.html, not cached, with the CSP', async () => {
    for (const path of ['/', '/services', '/services/web', '/nodes/node-1?tab=labels', '/index.html']) {
      const res = await f.raw(path);
      assert.equal(res.status, 200, path);
      assert.equal(res.text, INDEX, path);
      assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8', path);
      assert.equal(res.headers.get('cache-control'), 'no-cache', path);
      const csp = res.headers.get('content-security-policy') ?? '';
      assert.match(csp, /default-src 'self'/);
      assert.match(csp, /script-src 'self'(;|$)/, 'no inline scripts');
      assert.match(csp, /frame-ancestors 'none'/);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    }
  });

  test('hashed assets are immutable with their content type; other files revalidate', async () => {
    const js = await f.raw('/assets/index-AbC123_x.js');
    assert.equal(js.status, 200);
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(js.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    const css = await f.raw('/assets/index-Zz9yX8wV.css');
    assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8');
    const svg = await f.raw('/favicon.svg');
    assert.equal(svg.headers.get('content-type'), 'image/svg+xml');
    assert.equal(svg.headers.get('cache-control'), 'no-cache');
    const head = await f.app.request('/assets/index-AbC123_x.js', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
  });

  test('a build with relative asset URLs works from a client route: /services/assets/… is /assets/…', async () => {
    const js = await f.raw('/services/web/assets/index-AbC123_x.js');
    assert.equal(js.status, 200);
    assert.equal(js.text, 'console.log(1)');
    assert.equal(js.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal((await f.raw('/services/assets/gone-12345678.js')).status, 404);
  });

  test('a missing file is a 404, not the index; the server’s own paths are never the SPA’s', async () => {
    assert.equal((await f.raw('/assets/gone-12345678.js')).status, 404);
    for (const path of ['/api/nothing', '/api', '/agent/v1/nothing', '/metrics', '/ca.crt', '/healthz/x']) {
      const res = await f.raw(path);
      assert.notEqual(res.text, INDEX, path);
      assert.ok(res.status === 404 || res.status === 401, `${path}: ${res.status}`);
    }
    assert.equal((await f.raw('/', { method: 'POST' })).status, 404);
  });

  test('no path leaves the asset directory', async () => {
    for (const path of [
      '/../secret-beside-dist.txt',
      '/%2e%2e/secret-beside-dist.txt',
      '/assets/..%2f..%2fsecret-beside-dist.txt',
      '/%00.js',
      '/..%5csecret-beside-dist.txt',
    ]) {
      const res = await f.raw(path);
      assert.notEqual(res.text, 'no', path);
    }
    // Dot segments are resolved against the root, which they cannot climb above.
    assert.equal(assetPath('/a/../../b'), 'b');
    assert.equal(assetPath('/%2e%2e/b'), 'b');
    assert.equal(assetPath('/a\\..\\b'), undefined);
    assert.equal(assetPath('/%zz'), undefined);
    assert.equal(assetPath('/'), 'index.html');
    assert.equal(assetPath('/assets/x.js'), 'assets/x.js');
  });
});

test('the single binary’s asset source (synchronous reads, src/build) serves the same way', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-sea-like-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), INDEX);
  writeFileSync(join(dir, 'assets', 'index-AbC123_x.js'), 'console.log(2)');
  const f = createFixture({ deps: { assets: directoryAssets(dir) } });
  try {
    assert.equal((await f.raw('/services/web')).text, INDEX);
    const js = await f.raw('/assets/index-AbC123_x.js');
    assert.equal(js.text, 'console.log(2)');
    assert.equal(js.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  } finally {
    f.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('with no build, / says how to make one', async () => {
  const empty = mkdtempSync(join(tmpdir(), 'skiff-nodist-'));
  const f = createFixture({ deps: { assets: new DirectoryAssets(join(empty, 'dist')) } });
  try {
    const res = await f.raw('/services/web');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(res.text, /dashboard is not built/);
    assert.match(res.text, /npm install/);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'self'/);
  } finally {
    f.close();
    rmSync(empty, { recursive: true, force: true });
  }
});
