import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { proxyHarness } from './proxy-test-harness.ts';
import {
  blackholePort,
  connectionCount,
  type HttpBackend,
  httpCall,
  keepAliveAgent,
  refusingPort,
  startHttpBackend,
  waitFor,
} from './test-backends.ts';

const KEY = 'api:8080';
const { cleanups, route, startProxy, routeStats } = proxyHarness(KEY, 'http');

async function backends(...names: string[]): Promise<HttpBackend[]> {
  const started = await Promise.all(names.map((name) => startHttpBackend(name)));
  for (const b of started) cleanups.push(b.close);
  return started;
}

test('requests spread evenly over three backends', async () => {
  const list = await backends('a', 'b', 'c');
  const { proxy, port } = await startProxy(route(list.map((b) => b.backend)));
  const agent = keepAliveAgent();
  const counts = new Map<string, number>();
  for (let i = 0; i < 300; i++) {
    const { status, body } = await httpCall(port, { agent });
    assert.equal(status, 200);
    counts.set(body, (counts.get(body) ?? 0) + 1);
  }
  agent.destroy();
  assert.deepEqual(Object.fromEntries(counts), { a: 100, b: 100, c: 100 });
  const stats = routeStats(proxy);
  assert.equal(stats.requests, 300);
  assert.deepEqual(
    stats.backends.map((b) => [b.id, b.total, b.active]),
    [
      ['a', 100, 0],
      ['b', 100, 0],
      ['c', 100, 0],
    ],
  );
});

test('the backend sees X-Forwarded-* and no hop-by-hop fields; the client sees the backend status', async () => {
  const [echo] = await Promise.all([
    startHttpBackend('echo', (req, res) => {
      req.resume();
      res.writeHead(201, { 'Content-Type': 'application/json', 'X-From': 'echo' });
      res.end(JSON.stringify(req.headers));
    }),
  ]);
  cleanups.push(echo.close);
  const { port } = await startProxy(route([echo.backend]));
  const answer = await httpCall(port, {
    path: '/p?q=1',
    headers: { 'X-Forwarded-For': '203.0.113.7', Connection: 'x-hop', 'X-Hop': 'secret', Host: 'api:8080' },
  });
  assert.equal(answer.status, 201);
  assert.equal(answer.headers['x-from'], 'echo');
  const seen = JSON.parse(answer.body) as Record<string, string>;
  assert.equal(seen['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
  assert.equal(seen['x-forwarded-proto'], 'http');
  assert.equal(seen['x-forwarded-host'], 'api:8080');
  assert.equal(seen.host, 'api:8080');
  assert.equal(seen['x-hop'], undefined);
});

test('a removed backend gets no new requests while its in-flight slow request completes', async () => {
  let finishSlow: (() => void) | undefined;
  const slow = await startHttpBackend('slow', (_req, res) => {
    finishSlow = () => res.end('slow');
  });
  cleanups.push(slow.close);
  const [fast] = await backends('fast');
  assert.ok(fast !== undefined);
  const { proxy, port } = await startProxy(route([slow.backend]));

  const inFlight = httpCall(port);
  await waitFor('the slow request to reach its backend', () => finishSlow !== undefined);
  await proxy.setRoutes([route([fast.backend])]);
  const draining = routeStats(proxy).backends.find((b) => b.id === 'slow');
  assert.deepEqual([draining?.active, draining?.draining], [1, true]);

  for (let i = 0; i < 10; i++) assert.equal((await httpCall(port)).body, 'fast');
  assert.equal(slow.hits(), 1);
  finishSlow?.();
  assert.deepEqual(pick(await inFlight), [200, 'slow']);

  // Its keep-alive socket is not pooled for reuse: the backend sees the connection close.
  await waitFor(
    'the drained backend to lose its connection',
    async () => (await connectionCount(slow.server)) === 0,
  );
  assert.equal(
    routeStats(proxy).backends.some((b) => b.id === 'slow'),
    false,
  );
});

test('a backend closed while still listed loses no request: 200 of 200 succeed', async () => {
  const list = await backends('a', 'b', 'c');
  const { proxy, port } = await startProxy(route(list.map((b) => b.backend)));
  const agent = keepAliveAgent();
  let ok = 0;
  for (let i = 0; i < 200; i++) {
    // After 30 requests every backend has an idle pooled socket in the proxy; b then goes away
    // (its server closes its keep-alive connections and its port refuses) but stays listed.
    if (i === 30) await list[1]?.close();
    const { status } = await httpCall(port, { agent });
    if (status === 200) ok++;
  }
  agent.destroy();
  assert.equal(ok, 200);
  const stats = routeStats(proxy);
  assert.equal(stats.failures, 0);
  assert.ok(stats.retries > 0);
  assert.equal(list[1]?.hits(), 10);
});

test('a reset on a reused keep-alive socket is retried elsewhere, body included', async () => {
  // Keeps connections open after answering, then resets when the next request arrives on one:
  // the keep-alive race, made certain.
  const liarSockets = new Set<Socket>();
  const liar = createTcpServer((socket) => {
    liarSockets.add(socket);
    let answered = false;
    socket.on('error', () => {});
    socket.on('data', () => {
      if (answered) {
        socket.resetAndDestroy();
        return;
      }
      answered = true;
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\nKeep-Alive: timeout=30\r\n\r\nliar');
    });
  });
  await new Promise<void>((resolve) => liar.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    for (const s of liarSockets) s.destroy();
    await new Promise<void>((resolve) => liar.close(() => resolve()));
  });
  const liarPort = (liar.address() as { port: number }).port;
  const echo = await startHttpBackend('echo', (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => res.end(`echo:${Buffer.concat(chunks).toString()}`));
  });
  cleanups.push(echo.close);
  const { proxy, port } = await startProxy(
    route([{ id: 'liar', host: '127.0.0.1', port: liarPort }, echo.backend]),
  );

  assert.equal((await httpCall(port)).body, 'liar');
  assert.equal((await httpCall(port)).body, 'echo:');
  // The liar's turn again, on its pooled socket: reset, then replayed to echo.
  const posted = await httpCall(port, { method: 'POST', body: 'payload' });
  assert.deepEqual([posted.status, posted.body], [200, 'echo:payload']);
  assert.equal(routeStats(proxy).retries, 1);
});

test('a reset on a fresh connection is retried for GET but answered 502 for POST', async () => {
  const resetter = createTcpServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', () => socket.resetAndDestroy());
  });
  await new Promise<void>((resolve) => resetter.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => resetter.close(() => resolve())));
  const resetterBackend = {
    id: 'resetter',
    host: '127.0.0.1',
    port: (resetter.address() as { port: number }).port,
  };
  const [good] = await backends('good');
  assert.ok(good !== undefined);
  const { port } = await startProxy(route([resetterBackend, good.backend]));

  // Each GET meets the resetter first (round-robin comes back to it) and moves on to good.
  assert.deepEqual(pick(await httpCall(port)), [200, 'good']);
  assert.deepEqual(pick(await httpCall(port)), [200, 'good']);
  // The resetter's turn with a POST: the backend may have acted on it, so no retry.
  const posted = await httpCall(port, { method: 'POST', body: 'x' });
  assert.equal(posted.status, 502);
  assert.equal(good.hits(), 2);
});

test('all backends gone or none listed: 503 with a short text body', async () => {
  const dead = [await refusingPort(), await refusingPort()].map((p, i) => ({
    id: `dead${i}`,
    host: '127.0.0.1',
    port: p,
  }));
  const { proxy, port } = await startProxy(route(dead));
  const refused = await httpCall(port);
  assert.equal(refused.status, 503);
  assert.match(refused.body, /no backend accepted/);
  assert.match(String(refused.headers['content-type']), /text\/plain/);
  await proxy.setRoutes([route([])]);
  const none = await httpCall(port);
  assert.deepEqual([none.status, none.body], [503, `no backend available for ${KEY}\n`]);
  assert.equal(routeStats(proxy).failures, 2);
});

test('a client that allow rejects gets 403 and reaches no backend', async () => {
  const [a] = await backends('a');
  assert.ok(a !== undefined);
  const seen: string[] = [];
  const allow = (address: string) => {
    seen.push(address);
    return address !== '127.0.0.1';
  };
  const { proxy, port } = await startProxy(route([a.backend], { allow }));
  const answer = await httpCall(port);
  assert.equal(answer.status, 403);
  assert.deepEqual(seen, ['127.0.0.1']);
  assert.equal(a.hits(), 0);
  assert.equal(routeStats(proxy).rejected, 1);
});

test('WebSocket upgrades get 501', async () => {
  const [a] = await backends('a');
  assert.ok(a !== undefined);
  const { port } = await startProxy(route([a.backend]));
  const answer = await httpCall(port, { headers: { Connection: 'Upgrade', Upgrade: 'websocket' } });
  assert.equal(answer.status, 501);
  assert.equal(a.hits(), 0);
});

test('a silent backend gets 504 after the request timeout', async () => {
  const silent = await startHttpBackend('silent', () => {});
  cleanups.push(silent.close);
  const { port } = await startProxy(route([silent.backend]), { requestTimeoutMs: 150 });
  const answer = await httpCall(port);
  assert.equal(answer.status, 504);
});

test('bodies stream both ways: a 4 MiB upload arrives whole, a response arrives before it ends', async () => {
  let releaseStream: (() => void) | undefined;
  const backend = await startHttpBackend('stream', (req, res) => {
    if (req.url === '/upload') {
      const hash = createHash('sha256');
      let bytes = 0;
      req.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        hash.update(chunk);
      });
      req.on('end', () => res.end(`${bytes}:${hash.digest('hex')}`));
      return;
    }
    req.resume();
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.write('first;');
    releaseStream = () => res.end('last');
  });
  cleanups.push(backend.close);
  const { port } = await startProxy(route([backend.backend]));

  const upload = Buffer.alloc(4 * 1024 * 1024, 7);
  const uploaded = await httpCall(port, { path: '/upload', method: 'PUT', body: upload });
  assert.equal(uploaded.body, `${upload.length}:${createHash('sha256').update(upload).digest('hex')}`);

  const body = await new Promise<string>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/stream' }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        // The first chunk got through while the backend is still holding the response open.
        if (text === 'first;') releaseStream?.();
      });
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(body, 'first;last');
});

test('a response cut mid-body is cut for the client too and not retried', async () => {
  const cutter = await startHttpBackend('cutter', (req, res) => {
    req.resume();
    res.writeHead(200, { 'Content-Length': '100' });
    res.write('partial');
    setImmediate(() => res.socket?.destroy());
  });
  cleanups.push(cutter.close);
  const [other] = await backends('other');
  assert.ok(other !== undefined);
  const { proxy, port } = await startProxy(route([cutter.backend, other.backend]));
  await assert.rejects(httpCall(port));
  assert.equal(other.hits(), 0);
  const cut = routeStats(proxy).backends.find((b) => b.id === 'cutter');
  assert.equal(cut?.failures, 1);
});

function pick(answer: { status: number; body: string }): [number, string] {
  return [answer.status, answer.body];
}

/** `clients` keep-alive loops of GETs until `stop()` resolves or `limit` requests are made in all. */
function loadLoop(port: number, clients: number, limit: number) {
  let running = true;
  let made = 0;
  const statuses = new Map<number, number>();
  const errors: string[] = [];
  const loops = Array.from({ length: clients }, async () => {
    const agent = keepAliveAgent();
    while (running && made < limit) {
      made++;
      try {
        const { status } = await httpCall(port, { agent });
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      } catch (error) {
        errors.push(String(error));
      }
    }
    agent.destroy();
  });
  return {
    made: () => made,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return { statuses: Object.fromEntries(statuses), errors };
    },
  };
}

test('under concurrent load, backends closed while still listed lose no request', async () => {
  const list = await backends('a', 'b', 'c', 'd');
  const { proxy, port } = await startProxy(route(list.map((b) => b.backend)));
  const load = loadLoop(port, 20, 20_000);
  await waitFor('load to warm up', () => load.made() > 200);
  await list[0]?.close();
  await waitFor('more load', () => load.made() > 600);
  await list[2]?.close();
  await waitFor('more load', () => load.made() > 1000);
  const { statuses, errors } = await load.stop();
  assert.deepEqual(errors, []);
  assert.deepEqual(Object.keys(statuses), ['200']);
  assert.equal(routeStats(proxy).failures, 0);
});

test('a rolling update under concurrent load (add new, remove old, then stop old) loses no request', async () => {
  let current = await backends('v1-a', 'v1-b', 'v1-c');
  const { proxy, port } = await startProxy(route(current.map((b) => b.backend)));
  const load = loadLoop(port, 20, 20_000);
  await waitFor('load to warm up', () => load.made() > 200);
  for (let i = 0; i < current.length; i++) {
    const old = current[i];
    const [replacement] = await backends(`v2-${i}`);
    assert.ok(old !== undefined && replacement !== undefined);
    current = current.map((b) => (b === old ? replacement : b));
    await proxy.setRoutes([route(current.map((b) => b.backend))]);
    // Stop the old replica only once the proxy has finished with it, as the agent will.
    await waitFor('the old replica to drain', () =>
      routeStats(proxy).backends.every((b) => b.id !== old.backend.id || b.active === 0),
    );
    await old.close();
    const before = load.made();
    await waitFor('traffic on the new set', () => load.made() > before + 150);
  }
  const { statuses, errors } = await load.stop();
  assert.deepEqual(errors, []);
  assert.deepEqual(Object.keys(statuses), ['200']);
  assert.equal(routeStats(proxy).failures, 0);
  assert.equal(routeStats(proxy).retries, 0);
});

test('idle keep-alive sockets to a backend close after the idle timeout', async () => {
  const [a] = await backends('a');
  assert.ok(a !== undefined);
  const { port } = await startProxy(route([a.backend]), { idleSocketTimeoutMs: 100 });
  assert.equal((await httpCall(port)).body, 'a');
  assert.equal(await connectionCount(a.server), 1);
  await waitFor('the idle upstream socket to close', async () => (await connectionCount(a.server)) === 0);
});

test('an allow rule that throws fails closed', async () => {
  const [a] = await backends('a');
  assert.ok(a !== undefined);
  const allow = () => {
    throw new Error('broken rule');
  };
  const { port } = await startProxy(route([a.backend], { allow }));
  assert.equal((await httpCall(port)).status, 403);
});

test('removing a backend closes its idle pooled sockets at once', async () => {
  const [a, b] = await backends('a', 'b');
  assert.ok(a !== undefined && b !== undefined);
  // A long idle timeout, so only the drain can explain the close.
  const { proxy, port } = await startProxy(route([a.backend, b.backend]), { idleSocketTimeoutMs: 60_000 });
  assert.equal((await httpCall(port)).body, 'a');
  assert.equal(await connectionCount(a.server), 1);
  await proxy.setRoutes([route([b.backend])]);
  await waitFor(
    'the idle socket to the removed backend to close',
    async () => (await connectionCount(a.server)) === 0,
  );
  assert.equal((await httpCall(port)).body, 'b');
});

test('a connect that hangs times out and the request goes to the next backend', async () => {
  const hole = await blackholePort();
  cleanups.push(hole.release);
  const [a] = await backends('a');
  assert.ok(a !== undefined);
  const { proxy, port } = await startProxy(
    route([{ id: 'hole', host: '127.0.0.1', port: hole.port }, a.backend]),
    {
      connectTimeoutMs: 100,
    },
  );
  const posted = await httpCall(port, { method: 'POST', body: 'not lost' });
  assert.deepEqual(pick(posted), [200, 'a']);
  const stats = routeStats(proxy);
  assert.equal(stats.retries, 1);
  assert.equal(stats.backends.find((b) => b.id === 'hole')?.failures, 1);
});
