import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { commandOwnFlags, parseNodeFlags, readCommandOwnFlags, readNodeFlags } from './node-flags.ts';

test('node flags: one per line, comments and blank lines skipped', () => {
  assert.deepEqual(parseNodeFlags('# why\n--a=1\n\n  --b # trailing\n'), ['--a=1', '--b']);
});

test("node flags: a `COMMAND:` line is that command's only, in the file's order", () => {
  const text = '--s=8\nagent: --s=1\nserver:--t\n--u\n';
  assert.deepEqual(parseNodeFlags(text, 'agent'), ['--s=8', '--s=1', '--u']);
  assert.deepEqual(parseNodeFlags(text, 'server'), ['--s=8', '--t', '--u']);
  assert.deepEqual(parseNodeFlags(text), ['--s=8', '--u']);
});

test('bin/skiff passes the same options as node-flags.ts reads, per command', () => {
  const script = join(import.meta.dirname, '../../bin/skiff');
  for (const command of ['agent', 'server', 'version']) {
    // `bash -x` shows the exec line without running Node's command for real.
    const run = spawnSync('bash', ['-x', script, command, '--help'], { encoding: 'utf8' });
    const exec = run.stderr.split('\n').find((line) => line.startsWith('+ exec '));
    assert.ok(exec, run.stderr);
    const words = exec.split(' ');
    const flags = words.slice(words.indexOf('--disable-warning=ExperimentalWarning') + 1, -3);
    assert.deepEqual(flags, readNodeFlags(command), command);
  }
});

test('bin/node-flags bounds the young generation and the heap growth', () => {
  const flags = readNodeFlags('agent');
  assert.ok(flags.some((flag) => flag.startsWith('--max-semi-space-size=')));
  assert.ok(flags.some((flag) => flag.startsWith('--heap-growing-percent=')));
  // Node accepts them all (a typo would stop every skiff command).
  const run = spawnSync(process.execPath, [...flags, '-e', '0'], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
});

test("node flags: each command's own options are those after every command's", () => {
  const text = '--s=8\n--g=50\nagent: --s=1\nagent: --o\nserver:--t\n';
  assert.deepEqual(commandOwnFlags(text), { agent: ['--s=1', '--o'], server: ['--t'] });
  assert.deepEqual(commandOwnFlags('--s=8\n'), {});
  // A command's line before a common one: `execArgv` then `--node-options` could not keep the order.
  assert.throws(() => commandOwnFlags('agent: --s=1\n--s=8\n'), /`agent:` lines must come after/);
});

test("bin/node-flags: the agent's own options are the ones after the common ones", () => {
  const own = readCommandOwnFlags();
  assert.deepEqual([...readNodeFlags(), ...(own.agent ?? [])], readNodeFlags('agent'));
  assert.ok((own.agent ?? []).length > 0);
});
