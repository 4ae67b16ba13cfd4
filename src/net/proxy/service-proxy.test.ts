import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, test } from 'node:test';
import type { Backend } from './balancer.ts';
import { ListenConflictError, ListenFailedError, ProxyStoppedError } from './errors.ts';
import type { ProxyRoute } from './proxy-route.ts';
import { ServiceProxy } from './service-proxy.ts';
import { httpCall, keepAliveAgent, refusingPort, startHttpBackend, tcpCall } from './test-backends.ts';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

function route(
  key: string,
  backends: readonly Backend[],
  port = 0,
  mode: 'http' | 'tcp' = 'http',
): ProxyRoute {
  return { key, mode, listen: [{ host: '127.0.0.1', port }], backends, strategy: 'round-robin' };
}

function newProxy(): ServiceProxy {
  const proxy = new ServiceProxy({ stopGraceMs: 100 });
  cleanups.push(() => proxy.stop());
  return proxy;
}

async function backend(name: string): Promise<Backend> {
  const started = await startHttpBackend(name);
  cleanups.push(started.close);
  return started.backend;
}

test('the same table twice keeps the listener; stats report the bound port', async () => {
  const proxy = newProxy();
  const table = [route('web:80', [await backend('w1')])];
  await proxy.setRoutes(table);
  const port = proxy.boundPort('web:80', '127.0.0.1');
  await proxy.setRoutes(table);
  assert.equal(proxy.boundPort('web:80', '127.0.0.1'), port);
  assert.deepEqual(proxy.stats()[0]?.listeners, [{ host: '127.0.0.1', port: 0, boundPort: port }]);
  assert.equal((await httpCall(port ?? 0)).body, 'w1');
});

test('two routes on one address are refused before anything changes', async () => {
  const proxy = newProxy();
  const fixed = await refusingPort();
  await proxy.setRoutes([route('a:80', [await backend('a1')], fixed)]);
  await assert.rejects(
    proxy.setRoutes([route('a:80', [], fixed), route('b:80', [], fixed)]),
    (error: unknown) => error instanceof ListenConflictError && error.address.port === fixed,
  );
  // The old table still serves.
  assert.equal((await httpCall(fixed)).body, 'a1');
});

test('an address can move from one route to another in one update', async () => {
  const proxy = newProxy();
  const fixed = await refusingPort();
  await proxy.setRoutes([route('old:80', [await backend('old')], fixed)]);
  assert.equal((await httpCall(fixed)).body, 'old');
  await proxy.setRoutes([route('new:80', [await backend('new')], fixed)]);
  assert.equal((await httpCall(fixed)).body, 'new');
  assert.deepEqual(
    proxy.stats().map((s) => s.key),
    ['new:80'],
  );
});

test('a removed route stops listening', async () => {
  const proxy = newProxy();
  await proxy.setRoutes([route('gone:80', [await backend('g')])]);
  const port = proxy.boundPort('gone:80', '127.0.0.1') ?? 0;
  await proxy.setRoutes([]);
  await assert.rejects(httpCall(port), { code: 'ECONNREFUSED' });
});

test('a port in use fails only its listener, which the next update retries', async () => {
  const proxy = newProxy();
  const squatter = createServer();
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
  const taken = (squatter.address() as { port: number }).port;
  const table = [route('blocked:80', [await backend('b1')], taken), route('fine:80', [await backend('f1')])];

  await assert.rejects(
    proxy.setRoutes(table),
    (error: unknown) =>
      error instanceof ListenFailedError &&
      error.failures.length === 1 &&
      error.failures[0]?.code === 'EADDRINUSE' &&
      error.failures[0]?.routeKey === 'blocked:80',
  );
  assert.equal((await httpCall(proxy.boundPort('fine:80', '127.0.0.1') ?? 0)).body, 'f1');
  assert.equal(proxy.boundPort('blocked:80', '127.0.0.1'), undefined);

  await new Promise<void>((resolve) => squatter.close(() => resolve()));
  await proxy.setRoutes(table);
  assert.equal((await httpCall(taken)).body, 'b1');
});

test('an address not on any interface fails with EADDRNOTAVAIL (a VIP not yet assigned)', async () => {
  const proxy = newProxy();
  // Binding only: no packet is sent. 192.0.2.0/24 (TEST-NET-1) minus this host's own addresses.
  const notHere = { host: '192.0.2.254', port: 0 };
  const vipRoute: ProxyRoute = { ...route('vip:80', []), listen: [notHere] };
  await assert.rejects(
    proxy.setRoutes([vipRoute]),
    (error: unknown) => error instanceof ListenFailedError && error.failures[0]?.code === 'EADDRNOTAVAIL',
  );
});

test('a mode change reopens the route in the new protocol', async () => {
  const proxy = newProxy();
  const fixed = await refusingPort();
  const web = await startHttpBackend('web');
  cleanups.push(web.close);
  await proxy.setRoutes([route('x:80', [web.backend], fixed, 'http')]);
  assert.equal((await httpCall(fixed)).body, 'web');
  await proxy.setRoutes([route('x:80', [web.backend], fixed, 'tcp')]);
  assert.equal(proxy.stats()[0]?.mode, 'tcp');
  // Spoken raw through the TCP splice, the backend answers HTTP itself (no X-Forwarded-For added).
  const { data } = await tcpCall(fixed, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.match(data, /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\nweb\r\n/);
});

test('stop closes listeners and client connections, then refuses updates', async () => {
  const proxy = new ServiceProxy({ stopGraceMs: 50 });
  await proxy.setRoutes([route('s:80', [await backend('s1')])]);
  const port = proxy.boundPort('s:80', '127.0.0.1') ?? 0;
  const agent = keepAliveAgent();
  assert.equal((await httpCall(port, { agent })).body, 's1');
  await proxy.stop();
  await assert.rejects(httpCall(port), { code: 'ECONNREFUSED' });
  await assert.rejects(proxy.setRoutes([]), ProxyStoppedError);
  agent.destroy();
});
