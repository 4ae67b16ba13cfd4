/**
 * A real `skiff server` (no Docker needed) started from a config file with a flag that overrides
 * it: the file's settings apply, the flag wins, and the logs are JSON lines with time, level,
 * component and msg, as journald and log shippers read them.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { eventually } from './support/eventually.ts';

const MAIN = resolve(import.meta.dirname, '../src/cli/main.ts');

test('skiff server --config FILE: settings from the file, flags win, JSON log lines', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-config-'));
  const config = join(dir, 'server.yaml');
  writeFileSync(config, `data-dir: ${join(dir, 'data')}\nport: 0\nlisten: 127.0.0.1\nlog-format: text\n`);
  const child = spawn(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', MAIN, 'server', '--config', config, '--log-format', 'json'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SKIFF_TOKEN: '' },
    },
  );
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  try {
    const records = await eventually('the listening line', () => {
      const lines = stderr.split('\n').filter((line) => line !== '');
      const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
      return parsed.some((r) => /listening on 127\.0\.0\.1:\d+ \(data in /.test(String(r.msg)))
        ? parsed
        : undefined;
    });
    for (const record of records) {
      assert.ok(!Number.isNaN(Date.parse(String(record.time))), JSON.stringify(record));
      assert.ok(['debug', 'info', 'warn', 'error'].includes(String(record.level)), JSON.stringify(record));
      assert.equal(typeof record.component, 'string');
      assert.equal(typeof record.msg, 'string');
    }
    assert.ok(
      records.some((r) => r.component === 'server'),
      'the server’s own lines say so',
    );
  } finally {
    child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
});
