/**
 * The single executable (`npm run build:binary`), run from a directory with no node_modules: what
 * only a bundle can break (etcd3's protos, node:sqlite, embedded assets, the left-out ssh
 * transport), the agent's re-exec with its own Node options (and an operator's after them) and the
 * code cache each set of options gets, then the CLI-level lifecycle on the real engine with `skiff
 * up` and every client command from the binary: deploy, ps (every output format), scale, logs, rm;
 * `skiff version` with the server's part; and bash completing a service name from the server.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { readNodeFlags } from '../src/build/node-flags.ts';
import { eventually } from './support/eventually.ts';
import { type BuiltBinary, buildBinary } from './support/skiff-binary.ts';
import { SkiffCluster } from './support/skiff-cluster.ts';

const run = promisify(execFile);

let binary: BuiltBinary;
let skiff: SkiffCluster;

/** The binary with a clean environment: no NODE_* settings, no PATH entry for this checkout's Node. */
async function skiffBinary(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(binary.path, args, {
      cwd: binary.dir,
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: binary.dir, ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/**
 * `skiff agent` without --server, with `args` before it: it logs its Node options, V8's heap limit
 * and its PID (at debug) and stops there with a usage error (exit 2).
 */
async function agentWithoutServer(args: string[]) {
  const started = run(binary.path, [...args, 'agent', '--log-level', 'debug'], {
    cwd: binary.dir,
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: binary.dir },
    timeout: 60_000,
  });
  const pid = started.child.pid;
  const failed = (await started.then(
    () => assert.fail('the agent without --server exited 0'),
    (error: unknown) => error,
  )) as { code?: number; stderr: string };
  assert.equal(failed.code, 2, failed.stderr);
  const line = /node options: (.*); V8 heap limit (\d+) bytes; pid (\d+)/.exec(failed.stderr);
  assert.ok(line, failed.stderr);
  const [, options = '', limit, loggedPid] = line;
  return { pid, stderr: failed.stderr, options, limit: Number(limit), loggedPid: Number(loggedPid) };
}

/** This checkout's Node's heap limit under `flags` (the binary's Node is the same one). */
function heapLimit(flags: string[]): number {
  return Number(
    execFileSync(process.execPath, [...flags, '-p', 'require("v8").getHeapStatistics().heap_size_limit'], {
      encoding: 'utf8',
    }),
  );
}

describe('the single executable', { timeout: 180_000 }, () => {
  before(() => {
    binary = buildBinary();
  });
  after(async () => {
    await skiff?.stop();
    binary?.remove();
  });

  test('is one file with its checksum, alone in a directory without node_modules', () => {
    assert.equal(existsSync(join(binary.dir, 'node_modules')), false);
    for (let dir = binary.dir; dir !== '/'; dir = dirname(dir)) {
      assert.equal(existsSync(join(dir, 'node_modules')), false, `${dir} has node_modules`);
    }
    const digest = createHash('sha256').update(readFileSync(binary.path)).digest('hex');
    assert.equal(binary.checksumLine, `${digest}  skiff`);
  });

  test('carries etcd3 with its protos, node:sqlite and the dashboard assets', async () => {
    const result = await skiffBinary(['__binary-selftest']);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as {
      sqlite: string;
      etcdServices: boolean;
      assets: { origin: string; files: number } | null;
      build: { flavour: string; sshTransport: boolean };
      execPath: string;
      nodeOptions: string[];
      codeCache: { flagSet: string | null; cache: string };
    };
    assert.match(report.sqlite, /^3\.\d+\.\d+$/);
    assert.equal(report.etcdServices, true);
    assert.equal(report.build.flavour, 'binary');
    assert.equal(report.execPath, binary.path, 'the binary is its own runtime');
    // Every command but the agent: the SEA's execArgv, bin/node-flags' common lines, no re-exec.
    assert.deepEqual(report.nodeOptions, readNodeFlags());
    // The loader (src/build/sea-main.ts) compiled the bundle with the cache made under them.
    assert.deepEqual(report.codeCache, { flagSet: 'common', cache: 'accepted' });
    if (binary.dashboardFiles.length > 0) {
      assert.deepEqual(report.assets, { origin: 'embedded', files: binary.dashboardFiles.length });
    }
  });

  test("the agent runs with the agent's Node options, in the process it was started as", async () => {
    const agent = await agentWithoutServer([]);
    // What bin/skiff gives `skiff agent` (the agent's lines after the common ones; V8 takes the last).
    assert.deepEqual(agent.options.split(' '), readNodeFlags('agent'));
    // The same process (process.execve), as systemd started it.
    assert.equal(agent.loggedPid, agent.pid);
    // In force, not only given: V8's heap limit counts the young generation (three semi-spaces), so
    // it is this Node's with the agent's options and not with the server's 8 MB semi-space.
    assert.equal(agent.limit, heapLimit(readNodeFlags('agent')));
    assert.notEqual(agent.limit, heapLimit(readNodeFlags()));
    // No "Warning: Code cache data rejected." (V8 rejects a cache made under other options, as the
    // SEA's own was): the agent's stderr is its log and the usage error, nothing of Node's.
    assert.doesNotMatch(agent.stderr, /Code cache|Warning/, agent.stderr);
  });

  test("an operator's own Node options come after the agent's, quoted through the re-exec", async () => {
    // A heap size (V8 leaves it out of a code cache's flag hash), a stack trace limit (in the hash:
    // the agent's cache is rejected, and the loader compiles the bundle without it, silently) and
    // an option with a space (the re-exec quotes it in its own --node-options).
    const operator = ['--max-old-space-size=200', '--stack-trace-limit=50', '--title=skiff agent'];
    const agent = await agentWithoutServer([
      '--node-options=--max-old-space-size=200 --stack-trace-limit=50 "--title=skiff agent"',
    ]);
    assert.equal(agent.options, [...readNodeFlags('agent'), ...operator].join(' '));
    assert.equal(agent.loggedPid, agent.pid);
    // The operator's old space and the agent's semi-space, both in force.
    assert.equal(agent.limit, heapLimit([...readNodeFlags('agent'), '--max-old-space-size=200']));
    assert.notEqual(agent.limit, heapLimit(readNodeFlags('agent')));
    assert.doesNotMatch(agent.stderr, /Code cache|Warning/, agent.stderr);
  });

  test("the agent's options get the code cache made under them", async () => {
    // The selftest under the agent's options (as its re-exec'd image runs), the way it re-execs.
    const agentOwn = readNodeFlags('agent').slice(readNodeFlags().length);
    const result = await skiffBinary([`--node-options=${agentOwn.join(' ')}`, '__binary-selftest']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    const report = JSON.parse(result.stdout) as { nodeOptions: string[]; codeCache: unknown };
    assert.deepEqual(report.nodeOptions, readNodeFlags('agent'));
    assert.deepEqual(report.codeCache, { flagSet: 'agent', cache: 'accepted' });
    // An operator's own after them, as the agent's re-exec lays them out (the test above): the
    // agent's cache is offered; V8 takes it under a heap size, rejects it under a hashed option, and
    // neither says anything on stderr.
    for (const [own, cache] of [
      ['--max-old-space-size=200', 'accepted'],
      ['--stack-trace-limit=50', 'rejected'],
    ] as const) {
      const withOwn = await skiffBinary([
        `--node-options=${[...agentOwn, own].join(' ')}`,
        '__binary-selftest',
      ]);
      assert.equal(withOwn.code, 0, withOwn.stderr);
      assert.equal(withOwn.stderr, '', own);
      const ownReport = JSON.parse(withOwn.stdout) as { nodeOptions: string[]; codeCache: unknown };
      assert.deepEqual(ownReport.nodeOptions, [...readNodeFlags('agent'), own]);
      assert.deepEqual(ownReport.codeCache, { flagSet: 'agent', cache }, own);
    }
  });

  test('version names its release, commit, build date, API and protocol versions', async () => {
    const result = await skiffBinary(['version', '--client']);
    assert.equal(result.code, 0, result.stderr);
    // Nothing else, such as V8's "Code cache data rejected" (the blob made under other flags).
    assert.equal(result.stderr, '');
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as {
      version: string;
    };
    assert.match(result.stdout, new RegExp(`Version: +${pkg.version.replaceAll('.', '\\.')} \\(binary\\)`));
    assert.match(result.stdout, /Commit: +[0-9a-f]{40}/);
    assert.match(result.stdout, /Built: +\d{4}-\d\d-\d\dT/);
    assert.match(result.stdout, /API: +\d+\n +Protocol: +\d+/);
  });

  test('an ssh:// Docker host is refused, saying the binary leaves that transport out', async () => {
    const result = await skiffBinary(['up', '--docker-host', 'ssh://me@docker.invalid', '--port', '0']);
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      /no ssh:\/\/ transport to Docker .*native ssh2 addon.*--docker-host unix:\/\//,
    );
  });

  describe('on the real engine', () => {
    before(async () => {
      skiff = await SkiffCluster.start('up', { commands: { server: binary.command, cli: binary.command } });
    });

    test('deploy, ps in every format, scale, logs', async () => {
      const deployed = await skiff.cli([
        'deploy',
        '--name',
        'web',
        '--image',
        'skiff-demo:v1',
        '--replicas',
        '2',
        '--port',
        '8080',
      ]);
      assert.equal(deployed.code, 0, deployed.stderr);
      assert.match(deployed.stdout, /web\s+running\s+2\/2\s+healthy/);

      // The rollout is marked complete a moment after the replicas run: the formats are compared
      // once nothing changes between two of them.
      await eventually('the rollout complete', async () => {
        const views = JSON.parse((await skiff.cli(['ps', '-o', 'json'])).stdout) as {
          rollout?: { state?: string };
        }[];
        return views[0]?.rollout?.state === 'complete';
      });
      const table = await skiff.cli(['ps']);
      assert.match(table.stdout, /^NAME +STATUS +REPLICAS +HEALTH\nweb +running +2\/2 +healthy\n$/);
      const json = await skiff.cli(['ps', '-o', 'json']);
      const yaml = await skiff.cli(['ps', '-o', 'yaml']);
      assert.equal(yaml.code, 0, yaml.stderr);
      assert.deepEqual(parse(yaml.stdout), JSON.parse(json.stdout));
      assert.deepEqual(JSON.parse((await skiff.cli(['ps', '--json'])).stdout), JSON.parse(json.stdout));
      assert.equal((await skiff.cli(['ps', '-q'])).stdout, 'web\n');
      assert.equal((await skiff.cli(['ps', 'web', '-o', 'name'])).stdout, 'web-0\nweb-1\n');
      assert.match(
        (await skiff.cli(['ps', 'web', '-o', 'wide'])).stdout,
        /TASK +REVISION +EXIT +PORTS +MESSAGE/,
      );
      assert.equal((await skiff.cli(['ps', '-o', 'xml'])).code, 2);

      const scaled = await skiff.cli(['scale', 'web', '--replicas', '3']);
      assert.equal(scaled.code, 0, scaled.stderr);
      assert.equal((await skiff.containers('web')).filter((c) => c.state === 'running').length, 3);

      const logs = await eventually('logs of every replica', async () => {
        const result = await skiff.cli(['logs', 'web', '--tail', '5']);
        return ['web-0 |', 'web-1 |', 'web-2 |'].every((p) => result.stdout.includes(p))
          ? result.stdout
          : undefined;
      });
      assert.match(logs, /web-0\s*\| demo v1 starting as web-0/);
    });

    test('version shows the server it talks to', async () => {
      const result = await skiff.cli(['version']);
      assert.equal(result.code, 0, result.stderr);
      assert.match(
        result.stdout,
        new RegExp(`Server: ${skiff.url.replaceAll('.', '\\.')}\n +Version: +\\S+ \\(binary\\)`),
      );
      assert.match(result.stdout, /accepts agents of protocol \d+-\d+/);
    });

    test('bash completes commands, and a service name from the server', async () => {
      const script = `source <("${binary.path}" completion bash)
complete -p skiff
COMP_WORDS=("${binary.path}" sc); COMP_CWORD=1; _skiff; echo "commands: \${COMPREPLY[*]}"
COMP_WORDS=("${binary.path}" logs w); COMP_CWORD=2; _skiff; echo "services: \${COMPREPLY[*]}"
COMP_WORDS=("${binary.path}" ps --o); COMP_CWORD=2; _skiff; echo "flags: \${COMPREPLY[*]}"`;
      const { stdout } = await run('bash', ['-c', script], {
        env: { PATH: '/usr/bin:/bin', SKIFF_SERVER: skiff.url, SKIFF_DATA_DIR: skiff.dataDir },
        cwd: binary.dir,
      });
      assert.match(stdout, /^complete -o default -o nosort -F _skiff skiff$/m);
      assert.match(stdout, /^commands: scale$/m);
      assert.match(stdout, /^services: web$/m);
      assert.match(stdout, /^flags: --output$/m);
    });

    test('rm removes the service and its containers', async () => {
      const removed = await skiff.cli(['rm', 'web']);
      assert.equal(removed.code, 0, removed.stderr);
      await eventually('containers gone', async () => (await skiff.containers('web')).length === 0);
      const gone = await skiff.cli(['ps', 'web']);
      assert.equal(gone.code, 1);
      assert.match(gone.stderr, /service web not found/);
    });
  });
});
