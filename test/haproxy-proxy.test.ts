/**
 * The agent's HAProxy backend on loopback, with Debian's real `haproxy` (no Docker): per-request
 * balancing, X-Forwarded-For, a replica that leaves gets no new request while its in-flight one
 * finishes, a refused connect is retried elsewhere, isolation by source CIDR, a route table
 * change reloads without refusing a connection, and replicas coming and going need no reload.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { portConflicts } from '../src/net/data-plane/listening-sockets.ts';
import { detectHaproxy, haproxyPaths, removeHaproxy } from '../src/net/haproxy/haproxy-process.ts';
import { HaproxyProxy } from '../src/net/haproxy/haproxy-proxy.ts';
import { workerPid } from '../src/net/haproxy/haproxy-runtime.ts';
import type { Backend, Strategy } from '../src/net/proxy/balancer.ts';
import type { ProxyRoute } from '../src/net/proxy/proxy-route.ts';
import {
  type HttpAnswer,
  type HttpBackend,
  httpCall,
  keepAliveAgent,
  refusingPort,
  startHttpBackend,
  waitFor,
} from '../src/net/proxy/test-backends.ts';

const cleanups: (() => Promise<void>)[] = [];
let dir: string;
let proxy: HaproxyProxy;

function route(key: string, backends: readonly Backend[], extra: Partial<ProxyRoute> = {}): ProxyRoute {
  return {
    key,
    mode: 'http',
    listen: [{ host: '0.0.0.0', port: 0 }],
    backends,
    strategy: 'round-robin' as Strategy,
    ...extra,
  };
}

async function backend(name: string, handler?: Parameters<typeof startHttpBackend>[1]): Promise<HttpBackend> {
  const started = await startHttpBackend(name, handler);
  cleanups.push(started.close);
  return started;
}

/** Sends `/hold` requests until the holding replica has one (`holding()`); all the calls made. */
async function holdOne(port: number, holding: () => boolean): Promise<Promise<HttpAnswer>[]> {
  const calls: Promise<HttpAnswer>[] = [];
  await waitFor('a request held', async () => {
    if (holding()) return true;
    calls.push(httpCall(port, { path: '/hold' }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    return holding();
  });
  return calls;
}

function portOf(key: string): number {
  const port = proxy.boundPort(key, '0.0.0.0');
  assert.ok(port !== undefined, `${key} has a port`);
  return port;
}

describe('HAProxy as the HTTP proxy', { timeout: 120_000 }, () => {
  before(async () => {
    const found = await detectHaproxy();
    assert.ok(
      'version' in found,
      `haproxy is needed here (apt-get install haproxy): ${JSON.stringify(found)}`,
    );
    dir = mkdtempSync(join(tmpdir(), 'skiff-haproxy-'));
    proxy = new HaproxyProxy({ dir, log: () => {}, stopGraceMs: 500 });
  });
  after(async () => {
    await proxy?.stop();
    for (const cleanup of cleanups.reverse()) await cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('requests are balanced per request over one keep-alive connection, with X-Forwarded-For', async () => {
    const a = await backend('a', (req, res) => {
      res.end(`a ${req.headers['x-forwarded-for']} ${req.headers['x-forwarded-proto']}`);
    });
    const b = await backend('b');
    await proxy.setRoutes([route('web:80', [a.backend, b.backend])]);
    const agent = keepAliveAgent(1);
    const bodies: string[] = [];
    for (let i = 0; i < 6; i++) bodies.push((await httpCall(portOf('web:80'), { agent })).body);
    agent.destroy();
    assert.equal(bodies.filter((body) => body === 'b').length, 3, bodies.join(','));
    assert.ok(bodies.filter((body) => body === 'a 127.0.0.1 http').length === 3, bodies.join(','));
  });

  test('a replica leaving gets no new request, its in-flight one finishes, and no reload happens', async () => {
    let release: (() => void) | undefined;
    const slow = await backend('slow', (req, res) => {
      if (req.url === '/hold') {
        release = () => res.end('slow done');
        return;
      }
      res.end('slow');
    });
    const fast = await backend('fast');
    await proxy.setRoutes([route('drain:80', [slow.backend, fast.backend])]);
    const port = portOf('drain:80');
    const before = await workerPid(haproxyPaths(dir).adminSocket);
    const held = await holdOne(port, () => release !== undefined);
    await proxy.setRoutes([route('drain:80', [fast.backend])]);
    const hits = slow.hits();
    for (let i = 0; i < 8; i++) assert.equal((await httpCall(port)).body, 'fast');
    assert.equal(slow.hits(), hits, 'no new request reached the replica that left');
    release?.();
    assert.ok((await Promise.all(held)).some((answer) => answer.body === 'slow done'));
    assert.equal(await workerPid(haproxyPaths(dir).adminSocket), before, 'the same worker: no reload');
    // And back: ready again without a reload either.
    await proxy.setRoutes([route('drain:80', [slow.backend, fast.backend])]);
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add((await httpCall(port)).body);
    assert.deepEqual([...seen].sort(), ['fast', 'slow']);
    assert.equal(await workerPid(haproxyPaths(dir).adminSocket), before);
    // A new replica takes a free slot by an address change over the runtime API: still no reload.
    const third = await backend('third');
    await proxy.setRoutes([route('drain:80', [slow.backend, fast.backend, third.backend])]);
    const all = new Set<string>();
    for (let i = 0; i < 9; i++) all.add((await httpCall(port)).body);
    assert.deepEqual([...all].sort(), ['fast', 'slow', 'third']);
    assert.equal(await workerPid(haproxyPaths(dir).adminSocket), before, 'an address change needs no reload');
  });

  test('a refused connect is retried on another replica', async () => {
    const refusing: Backend = { id: 'dead', host: '127.0.0.1', port: await refusingPort() };
    const alive = await backend('alive');
    await proxy.setRoutes([route('retry:80', [refusing, alive.backend])]);
    for (let i = 0; i < 6; i++) {
      const answer = await httpCall(portOf('retry:80'));
      assert.equal(answer.status, 200);
      assert.equal(answer.body, 'alive');
    }
  });

  test('no replica: 503; a client outside the allowed CIDRs: 403', async () => {
    const one = await backend('one');
    await proxy.setRoutes([
      route('empty:80', []),
      route('closed:80', [one.backend], { allowCidrs: ['10.255.0.0/16'], allow: () => false }),
      route('open:80', [one.backend], { allowCidrs: ['127.0.0.0/8'], allow: () => true }),
    ]);
    assert.equal((await httpCall(portOf('empty:80'))).status, 503);
    assert.equal((await httpCall(portOf('closed:80'))).status, 403);
    assert.equal((await httpCall(portOf('open:80'))).body, 'one');
  });

  test('more replicas than slots, and a new route, reload without refusing a connection', async () => {
    const replicas = await Promise.all(['r0', 'r1', 'r2', 'r3', 'r4', 'r5'].map((name) => backend(name)));
    await proxy.setRoutes([
      route(
        'grow:80',
        replicas.slice(0, 2).map((r) => r.backend),
      ),
    ]);
    const port = portOf('grow:80');
    const before = await workerPid(haproxyPaths(dir).adminSocket);
    let stop = false;
    let failures = 0;
    let answered = 0;
    const load = (async () => {
      while (!stop) {
        const answer = await httpCall(port).catch(() => undefined);
        if (answer?.status === 200) answered++;
        else failures++;
      }
    })();
    await waitFor('load running', () => answered > 5);
    await proxy.setRoutes([
      route(
        'grow:80',
        replicas.map((r) => r.backend),
      ),
      route('other:80', []),
    ]);
    const atReload = answered;
    await waitFor('answers after the reload', () => answered > atReload + 20);
    stop = true;
    await load;
    assert.notEqual(await workerPid(haproxyPaths(dir).adminSocket), before, 'a new worker');
    assert.equal(failures, 0);
    const seen = new Set<string>();
    for (let i = 0; i < 12; i++) seen.add((await httpCall(port)).body);
    assert.equal(seen.size, 6, [...seen].join(','));
  });

  test('least-connections sends the next request to the idle replica', async () => {
    let releaseBusy: (() => void) | undefined;
    const busy = await backend('busy', (req, res) => {
      if (req.url === '/hold') {
        releaseBusy = () => res.end('busy done');
        return;
      }
      res.end('busy');
    });
    const idle = await backend('idle');
    await proxy.setRoutes([route('lc:80', [busy.backend, idle.backend], { strategy: 'least-connections' })]);
    const port = portOf('lc:80');
    const held = await holdOne(port, () => releaseBusy !== undefined);
    for (let i = 0; i < 4; i++) assert.equal((await httpCall(port)).body, 'idle');
    releaseBusy?.();
    assert.ok((await Promise.all(held)).some((answer) => answer.body === 'busy done'));
  });

  test('a leftover HAProxy of a data dir is stopped by PID and its files removed (--cleanup)', async () => {
    // As an agent killed on a host without setpriv would leave it: running on its config, detached.
    const leftover = mkdtempSync(join(tmpdir(), 'skiff-haproxy-leftover-'));
    const own = new HaproxyProxy({ dir: leftover, log: () => {}, stopGraceMs: 100 });
    await own.setRoutes([route('left:80', [])]);
    const paths = haproxyPaths(leftover);
    await own.stop();
    const child = spawn('haproxy', ['-W', '-f', paths.config, '-p', paths.pidFile], {
      detached: true,
      stdio: 'ignore',
    });
    child.unref();
    await waitFor(
      'the leftover running',
      async () => (await workerPid(paths.adminSocket).catch(() => undefined)) !== undefined,
    );
    const pid = Number(readFileSync(paths.pidFile, 'utf8'));
    assert.equal(pid, child.pid);
    assert.equal(
      removeHaproxy(leftover, () => {}),
      true,
    );
    await waitFor('the leftover gone', () => child.exitCode !== null || child.signalCode !== null);
    assert.equal(existsSync(leftover), false);
  });

  test("every answer is counted from HAProxy's request log, with its own time, across a reload", async () => {
    const seen: { key: string; status: number | undefined; seconds: number }[] = [];
    const logDir = mkdtempSync(join(tmpdir(), 'skiff-haproxy-log-'));
    const counting = new HaproxyProxy({
      dir: logDir,
      log: () => {},
      stopGraceMs: 100,
      onRequest: (key, status, seconds) => seen.push({ key, status, seconds }),
    });
    cleanups.push(async () => {
      await counting.stop();
      rmSync(logDir, { recursive: true, force: true });
    });
    const one = await backend('counted');
    const slow = await backend('slow', (req, res) => {
      req.resume();
      setTimeout(() => res.end('slow'), 300);
    });
    await counting.setRoutes([route('count:80', [one.backend]), route('none:80', [])]);
    const port = (key: string) => counting.boundPort(key, '0.0.0.0') ?? 0;
    for (let i = 0; i < 5; i++) assert.equal((await httpCall(port('count:80'))).status, 200);
    assert.equal((await httpCall(port('none:80'))).status, 503);
    await waitFor('the first answers logged', () => seen.length === 6);
    // A new route reloads HAProxy: the new worker logs through a connection of its own.
    await counting.setRoutes([
      route('count:80', [one.backend]),
      route('none:80', []),
      route('slow:80', [slow.backend]),
    ]);
    for (let i = 0; i < 3; i++) assert.equal((await httpCall(port('count:80'))).status, 200);
    assert.equal((await httpCall(port('slow:80'))).status, 200);
    await waitFor('every answer logged', () => seen.length === 10);
    const of = (key: string, status: number) => seen.filter((r) => r.key === key && r.status === status);
    assert.equal(of('count:80', 200).length, 8);
    assert.equal(of('none:80', 503).length, 1);
    const timed = of('slow:80', 200);
    assert.equal(timed.length, 1);
    // Its own time, not an average: the backend took 300 ms, the fast ones far less.
    assert.ok((timed[0]?.seconds ?? 0) >= 0.29, JSON.stringify(timed));
    assert.ok(
      of('count:80', 200).every((r) => r.seconds < 0.29),
      JSON.stringify(seen),
    );
  });

  test('a request log that cannot listen leaves the routes working, and says so once', async () => {
    const logged: string[] = [];
    // Past a unix socket path's 107 bytes (HAProxy would refuse it, and the config with it); the
    // admin socket stays in a short directory.
    const base = mkdtempSync(join(tmpdir(), 'skiff-haproxy-long-'));
    const dir = join(base, 'x'.repeat(100));
    const counting = new HaproxyProxy({
      dir: base,
      log: (line) => logged.push(line),
      stopGraceMs: 100,
      onRequest: () => {},
      requestLogPath: join(dir, 'requests.sock'),
    });
    cleanups.push(async () => {
      await counting.stop();
      rmSync(base, { recursive: true, force: true });
    });
    const one = await backend('unlogged');
    await counting.setRoutes([route('unlogged:80', [one.backend])]);
    assert.equal((await httpCall(counting.boundPort('unlogged:80', '0.0.0.0') ?? 0)).status, 200);
    await counting.setRoutes([route('unlogged:80', [one.backend]), route('other:80', [])]);
    assert.equal(logged.filter((line) => line.includes('request log')).length, 1, logged.join('\n'));
  });

  test("HAProxy's loopback listener on a published port is the agent's own, not a conflict", async () => {
    const published = await refusingPort();
    const one = await backend('published');
    await proxy.setRoutes([
      route('pub:ingress', [one.backend], {
        listen: [
          { host: '0.0.0.0', port: 0 },
          { host: '127.0.0.1', port: published },
        ],
      }),
    ]);
    assert.equal((await httpCall(published)).body, 'published');
    const wanted = [{ protocol: 'tcp' as const, port: published }];
    assert.deepEqual(portConflicts(wanted, proxy.pids), []);
    // Without its PIDs it is some other process on the port, as a host process would be.
    assert.match(portConflicts(wanted)[0]?.owner?.command ?? '', /haproxy/);
  });
});
