import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from './cli.ts';
import { COMMAND_OPTIONS } from './command-options.ts';
import { COMMANDS, type CommandName, commandUsage } from './usage.ts';

const NAMES = Object.keys(COMMANDS) as CommandName[];

/** Runs the CLI in this process with stdout and stderr captured. */
async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const { stdout, stderr } = process;
  const writeOut = stdout.write;
  const writeErr = stderr.write;
  stdout.write = ((chunk: string | Uint8Array) => out.push(String(chunk)) > 0) as typeof stdout.write;
  stderr.write = ((chunk: string | Uint8Array) => err.push(String(chunk)) > 0) as typeof stderr.write;
  try {
    const code = await runCli(argv);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    stdout.write = writeOut;
    stderr.write = writeErr;
  }
}

test('the flag table and the command table name the same commands', () => {
  assert.deepEqual(Object.keys(COMMAND_OPTIONS).sort(), [...NAMES].sort());
});

for (const name of NAMES) {
  test(`${name}: its usage describes every flag it takes`, () => {
    const usage = commandUsage(name);
    for (const [flag, config] of Object.entries(COMMAND_OPTIONS[name])) {
      const short = 'short' in config ? `-${config.short}, ` : '';
      const line = new RegExp(`^  ${short}--${flag}(?![\\w-])`, 'm');
      assert.match(usage, line, `skiff ${name} --help has no line for ${short}--${flag}`);
    }
  });

  test(`${name} --help and help ${name} print its usage and exit 0`, async () => {
    const flag = await run([name, '--help']);
    assert.equal(flag.code, 0, flag.stderr);
    assert.equal(flag.stdout, commandUsage(name));
    assert.equal(flag.stderr, '');
    const short = await run([name, '-h']);
    assert.equal(short.code, 0, short.stderr);
    assert.equal(short.stdout, commandUsage(name));
    const topic = await run(['help', name]);
    assert.equal(topic.code, 0);
    assert.equal(topic.stdout, commandUsage(name));
  });

  test(`${name} with an unknown flag is a usage error (exit 2)`, async () => {
    const result = await run([name, '--bogus']);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /Unknown option '--bogus'/);
    assert.match(result.stderr, new RegExp(`Run "skiff ${name} --help" for usage`));
    assert.equal(result.stdout, '');
  });
}

test('no command, an unknown one, or help of an unknown one exits 2 with the command list', async () => {
  for (const argv of [[], ['bogus'], ['help', 'bogus']]) {
    const result = await run(argv);
    assert.equal(result.code, 2, argv.join(' '));
    assert.match(result.stderr, /Commands:/);
  }
});

test('skiff --help lists every command', async () => {
  const result = await run(['--help']);
  assert.equal(result.code, 0);
  for (const name of NAMES) assert.match(result.stdout, new RegExp(`^  ${name} `, 'm'));
});

test('a bad value of a process command is a usage error before anything starts', async () => {
  for (const argv of [
    ['up', '--port', 'x'],
    ['server', '--heartbeat-timeout', 'soon'],
    ['agent', '--server', 'http://127.0.0.1:1', '--join-token', 't', '--memory', 'lots'],
    ['up', 'extra'],
    ['agent'],
  ]) {
    const result = await run(argv);
    assert.equal(result.code, 2, `${argv.join(' ')}: ${result.stderr}`);
  }
});
