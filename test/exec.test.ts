/**
 * `skiff exec` against a real server, agent and container: a command's output and exit status,
 * stdin with -i, the service name standing for one of its replicas, a replica name that is not
 * running, and a viewer token refused; the exec is an event naming the token. With -it, in a real
 * terminal (tmux on a socket of this test's own): the command has a TTY of the window's size,
 * follows a resize of the window, and its exit status is the CLI's.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { eventSchema } from '../src/model/event.ts';
import { serviceViewSchema } from '../src/model/views.ts';
import { eventually } from './support/eventually.ts';
import { SkiffCluster } from './support/skiff-cluster.ts';
import { TmuxTerminal } from './support/tmux.ts';

const MAIN = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts');
const BIN = join(import.meta.dirname, '..', 'bin', 'skiff');
const terminal = new TmuxTerminal('exec');
let skiff: SkiffCluster;

/** The CLI with stdin from `input`. */
function cliWithStdin(args: string[], input: string, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN, ...args], {
    env: { ...process.env, SKIFF_SERVER: skiff.url, SKIFF_DATA_DIR: skiff.dataDir, SKIFF_TOKEN: '', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  child.stdin.end(input);
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

describe('skiff exec', { timeout: 180_000 }, () => {
  before(async () => {
    skiff = await SkiffCluster.start('up');
    const deployed = await skiff.api('POST', '/api/deploy', {
      name: 'box',
      image: 'skiff-demo:v1-noterm',
      replicas: 2,
    });
    assert.equal(deployed.status, 201, JSON.stringify(deployed.body));
    await eventually(
      'box running',
      async () => {
        const v = serviceViewSchema.parse((await skiff.api('GET', '/api/services/box')).body);
        return v.running === 2;
      },
      { timeoutMs: 60_000 },
    );
  });
  after(async () => {
    if (process.exitCode) console.error(skiff?.output.slice(-40).join('\n'));
    await terminal.kill();
    await skiff?.stop();
  });

  test('a replica runs the command: its output, and its exit status as the CLI’s', async () => {
    const hostname = await skiff.cli(['exec', 'box-1', 'cat', '/etc/hostname']);
    assert.equal(hostname.code, 0, hostname.stderr);
    assert.equal(hostname.stdout.trim(), 'box-1');
    const failing = await skiff.cli(['exec', 'box-0', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.deepEqual([failing.code, failing.stdout, failing.stderr], [3, 'out\n', 'err\n']);
  });

  test('-i sends stdin; -e and -w reach the command; the service name picks a running replica', async () => {
    const echoed = await cliWithStdin(
      ['exec', '-i', 'box', 'sh', '-c', 'cat; echo "$GREETING from $(pwd)"'],
      'line one\n',
      {},
    );
    assert.equal(echoed.code, 0, echoed.stderr);
    assert.equal(echoed.stdout, 'line one\n from /\n');
    const env = await skiff.cli([
      'exec',
      '-e',
      'GREETING=hi',
      '-w',
      '/tmp',
      'box',
      'sh',
      '-c',
      'echo "$GREETING from $(pwd)"',
    ]);
    assert.equal(env.stdout, 'hi from /tmp\n', env.stderr);
  });

  test('a replica that is not running is a clear error; a viewer is refused', async () => {
    const missing = await skiff.cli(['exec', 'box-7', 'true']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /box-7/);
    const created = await skiff.api('POST', '/api/tokens', { name: 'watcher', role: 'viewer' });
    const token = (created.body as { token: string }).token;
    const refused = await cliWithStdin(['exec', '--token', token, 'box-0', 'true'], '');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /needs role operator/);
    const events = eventSchema.array().parse((await skiff.api('GET', '/api/events?service=box')).body);
    assert.ok(
      events.some((e) => /^Exec in box-1: cat \/etc\/hostname \(by token /.test(e.message)),
      JSON.stringify(events.map((e) => e.message)),
    );
  });

  test('-it in a terminal: a TTY of the window’s size that follows a resize; the exit status is the CLI’s', async () => {
    const env = `SKIFF_SERVER=${skiff.url} SKIFF_DATA_DIR=${skiff.dataDir} SKIFF_TOKEN=`;
    await terminal.start(`env ${env} ${BIN} exec -it box-0 -- sh; echo "CLI EXIT $?"; sleep 600`, {
      cols: 100,
      rows: 30,
    });
    const type = (line: string) => terminal.keys(line, 'Enter');
    // The prompt shows once the shell runs on its terminal (busybox sh prints none without one).
    await terminal.shows('the shell’s prompt', /[#$] ?$/m);
    await type('echo "SIZE $(stty size) ON $(tty)"');
    await terminal.shows('the window’s size on a pts', /^SIZE 30 100 ON \/dev\/pts\/\d+/m);
    await terminal.resize({ cols: 120, rows: 40 });
    await eventually(
      'the resize reached the command',
      async () => {
        await type('echo "NOW $(stty size)"');
        return /^NOW 40 120/m.test(await terminal.screen());
      },
      { timeoutMs: 15_000, intervalMs: 500 },
    );
    await type('exit 7');
    await terminal.shows('the CLI’s exit status', /^CLI EXIT 7$/m);
  });
});
