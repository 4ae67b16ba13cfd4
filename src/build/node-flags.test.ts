import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { parseNodeFlags, readNodeFlags } from './node-flags.ts';

test('node flags: one per line, comments and blank lines skipped', () => {
  assert.deepEqual(parseNodeFlags('# why\n--a=1\n\n  --b # trailing\n'), ['--a=1', '--b']);
});

test('bin/node-flags bounds the young generation and the heap growth', () => {
  const flags = readNodeFlags();
  assert.ok(flags.some((flag) => flag.startsWith('--max-semi-space-size=')));
  assert.ok(flags.some((flag) => flag.startsWith('--heap-growing-percent=')));
  // Node accepts them all (a typo would stop every skiff command).
  const run = spawnSync(process.execPath, [...flags, '-e', '0'], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
});
