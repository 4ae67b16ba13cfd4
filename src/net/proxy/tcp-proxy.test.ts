import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { test } from 'node:test';
import type { Backend } from './balancer.ts';
import { proxyHarness } from './proxy-test-harness.ts';
import {
  blackholePort,
  refusingPort,
  startEchoBackend,
  type TcpBackend,
  tcpCall,
  waitFor,
} from './test-backends.ts';

const KEY = 'db:5432';
const { cleanups, route, startProxy, routeStats } = proxyHarness(KEY, 'tcp');

async function echoes(...names: string[]): Promise<TcpBackend[]> {
  const started = await Promise.all(names.map((name) => startEchoBackend(name)));
  for (const b of started) cleanups.push(b.close);
  return started;
}

async function serve(handler: (socket: Socket) => void): Promise<{ server: Server; backend: Backend }> {
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => {});
    handler(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as { port: number }).port;
  return { server, backend: { id: `raw-${port}`, host: '127.0.0.1', port } };
}

test('connections spread over the backends and bytes are echoed through', async () => {
  const list = await echoes('a', 'b', 'c');
  const { proxy, port } = await startProxy(route(list.map((b) => b.backend)));
  const answers: string[] = [];
  for (let i = 0; i < 6; i++) {
    const { data, ending } = await tcpCall(port, `hello${i}`);
    assert.equal(ending, 'closed');
    answers.push(data);
  }
  assert.deepEqual(answers, ['a:hello0', 'b:hello1', 'c:hello2', 'a:hello3', 'b:hello4', 'c:hello5']);
  const stats = routeStats(proxy);
  assert.equal(stats.connections, 6);
  await waitFor('leases to end', () => routeStats(proxy).backends.every((b) => b.active === 0));
  assert.deepEqual(
    routeStats(proxy).backends.map((b) => b.total),
    [2, 2, 2],
  );
});

test('a refused connect fails over to the next backend; the client never notices', async () => {
  const [a, b] = await echoes('a', 'b');
  assert.ok(a !== undefined && b !== undefined);
  const dead = { id: 'dead', host: '127.0.0.1', port: await refusingPort() };
  const { proxy, port } = await startProxy(route([dead, a.backend, b.backend]));
  for (let i = 0; i < 6; i++) {
    const { data, ending } = await tcpCall(port, 'x');
    assert.equal(ending, 'closed');
    assert.match(data, /^[ab]:x$/);
  }
  const stats = routeStats(proxy);
  assert.equal(stats.failures, 0);
  assert.ok(stats.retries >= 2);
  assert.ok((stats.backends.find((s) => s.id === 'dead')?.failures ?? 0) >= 2);
});

test('half-close: the client FIN reaches the backend, whose reply still flows back', async () => {
  // Answers only after the client has finished sending, like a request/response protocol on EOF.
  const { backend } = await serve((socket) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => socket.end(`got ${Buffer.concat(chunks).length} bytes`));
  });
  const { port } = await startProxy(route([backend]));
  const payload = 'z'.repeat(100_000);
  assert.deepEqual(await tcpCall(port, payload), { data: 'got 100000 bytes', ending: 'closed' });
});

test('large transfers pass intact both ways', async () => {
  const [a] = await echoes('a');
  assert.ok(a !== undefined);
  const { port } = await startProxy(route([a.backend]));
  const payload = 'q'.repeat(8 * 1024 * 1024);
  const { data } = await tcpCall(port, payload);
  assert.equal(data.length, 2 + payload.length);
});

test('no backend: the client connection is closed at once', async () => {
  const { proxy, port } = await startProxy(route([]));
  const { data, ending } = await tcpCall(port, 'x');
  assert.equal(data, '');
  assert.match(ending, /^(ECONNRESET|EPIPE|closed)$/);
  assert.equal(routeStats(proxy).failures, 1);
});

test('allow rejecting a client closes its connection without touching a backend', async () => {
  let reached = 0;
  const { backend } = await serve((socket) => {
    reached++;
    socket.end();
  });
  const { proxy, port } = await startProxy(route([backend], { allow: (address) => address === '10.9.9.9' }));
  const { data, ending } = await tcpCall(port, 'x');
  assert.equal(data, '');
  assert.match(ending, /^(ECONNRESET|EPIPE|closed)$/);
  assert.equal(reached, 0);
  assert.equal(routeStats(proxy).rejected, 1);
});

test('a backend reset mid-connection closes the client side too', async () => {
  const { backend } = await serve((socket) => {
    socket.write('hi;');
    socket.once('data', () => socket.resetAndDestroy());
  });
  const { proxy, port } = await startProxy(route([backend]));
  const client = connect({ host: '127.0.0.1', port });
  const ended = new Promise<string>((resolve) => {
    let data = '';
    client.setEncoding('utf8');
    client.on('data', (chunk: string) => {
      data += chunk;
      if (data === 'hi;') client.write('trigger');
    });
    client.on('error', () => {});
    client.once('close', () => resolve(data));
  });
  assert.equal(await ended, 'hi;');
  await waitFor('the lease to end', () => routeStats(proxy).backends[0]?.active === 0);
  assert.equal(routeStats(proxy).backends[0]?.failures, 1);
});

test('open connections survive a backend swap; new ones go to the new list', async () => {
  const [a, b] = await echoes('a', 'b');
  assert.ok(a !== undefined && b !== undefined);
  const { proxy, port } = await startProxy(route([a.backend]));
  const held = connect({ host: '127.0.0.1', port });
  let heldData = '';
  held.setEncoding('utf8');
  held.on('data', (chunk: string) => {
    heldData += chunk;
  });
  await waitFor('the held connection to reach a', () => heldData === 'a:');
  await proxy.setRoutes([route([b.backend])]);
  assert.equal((await tcpCall(port, 'new')).data, 'b:new');
  held.write('still-here');
  await waitFor('the held connection to keep echoing', () => heldData === 'a:still-here');
  const closed = new Promise((resolve) => held.once('close', resolve));
  held.end();
  await closed;
});

test('a connect that hangs times out and fails over to the next backend', async () => {
  const hole = await blackholePort();
  cleanups.push(hole.release);
  const [a] = await echoes('a');
  assert.ok(a !== undefined);
  const { proxy, port } = await startProxy(
    route([{ id: 'hole', host: '127.0.0.1', port: hole.port }, a.backend]),
    { connectTimeoutMs: 100 },
  );
  const started = Date.now();
  assert.deepEqual(await tcpCall(port, 'x'), { data: 'a:x', ending: 'closed' });
  assert.ok(Date.now() - started >= 100);
  assert.equal(routeStats(proxy).backends.find((b) => b.id === 'hole')?.failures, 1);
});
