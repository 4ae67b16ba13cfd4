import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { directoryAssets, listFiles, normalAssetPath, seaAssets } from './embedded-assets.ts';
import { seaConfig } from './sea-config.ts';

test('asset paths never leave the dashboard root', () => {
  assert.equal(normalAssetPath('/index.html'), 'index.html');
  assert.equal(normalAssetPath('assets/app.js'), 'assets/app.js');
  for (const bad of ['', '/', '../secret', 'a/../../b', 'a//b', './a', 'a\\b', 'a\0b']) {
    assert.equal(normalAssetPath(bad), undefined, bad);
  }
});

test('a directory source reads, lists and refuses escapes', () => {
  const root = mkdtempSync(join(tmpdir(), 'skiff-assets-'));
  try {
    mkdirSync(join(root, 'dist', 'assets'), { recursive: true });
    writeFileSync(join(root, 'dist', 'index.html'), '<html>');
    writeFileSync(join(root, 'dist', 'assets', 'app.js'), 'x');
    writeFileSync(join(root, 'outside.txt'), 'secret');
    const source = directoryAssets(join(root, 'dist'));
    assert.deepEqual(source.list(), ['assets/app.js', 'index.html']);
    assert.equal(new TextDecoder().decode(source.read('/index.html')), '<html>');
    assert.equal(source.read('assets'), undefined, 'a directory is not a file');
    assert.equal(source.read('../outside.txt'), undefined);
    assert.equal(source.read('missing.js'), undefined);
    assert.deepEqual(listFiles(join(root, 'nowhere')), []);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('outside a single executable there are no SEA assets', () => {
  assert.equal(seaAssets('web/'), undefined);
});

test('the SEA config embeds each dashboard file under web/, the bundle and its code caches', () => {
  const input = {
    loaderPath: 'l.cjs',
    bundlePath: 'b.cjs',
    codeCaches: { 'skiff:code-cache:common': 'c.bin' },
    blobPath: 'b.blob',
    dashboardDir: '/r/web/dist',
    execArgv: [],
  };
  const config = seaConfig({ ...input, dashboardFiles: ['index.html', 'assets/a.js'] });
  assert.equal(config.main, 'l.cjs');
  assert.deepEqual(config.assets, {
    'skiff:bundle.cjs': 'b.cjs',
    'skiff:code-cache:common': 'c.bin',
    'web/index.html': '/r/web/dist/index.html',
    'web/assets/a.js': '/r/web/dist/assets/a.js',
  });
  // The loader's own cache: none (the agent's re-exec'd image would reject it, and Node warn).
  assert.equal(config.useCodeCache, false);
});
