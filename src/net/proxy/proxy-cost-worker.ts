/**
 * A thread for the proxy-cost measurement: either a tiny HTTP backend or a service proxy in
 * front of given backends, each on 127.0.0.1 port 0, posting its bound port when ready. Separate
 * threads keep the backend's and the proxy's work off the load generator's event loop, as they
 * are in a real agent. The thread lives until the parent terminates it.
 */
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { HaproxyProxy } from '../haproxy/haproxy-proxy.ts';
import type { Backend } from './balancer.ts';
import { ServiceProxy } from './service-proxy.ts';

export type CostWorkerData =
  | { readonly role: 'backend' }
  | { readonly role: 'proxy'; readonly backends: Backend[]; readonly proxy: 'builtin' | 'haproxy' };

const BODY = Buffer.from('ok\n');
const data = workerData as CostWorkerData;

if (data.role === 'backend') {
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': BODY.length });
    res.end(BODY);
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    parentPort?.postMessage(typeof address === 'object' && address !== null ? address.port : 0);
  });
} else {
  // HAProxy runs as its own process (this thread only drives it): the thread's termination
  // leaves it to the parent-death signal, so it is stopped on a message first.
  const proxy =
    data.proxy === 'haproxy'
      ? new HaproxyProxy({
          dir: mkdtempSync(join(tmpdir(), 'skiff-proxy-cost-')),
          log: () => {},
          stopGraceMs: 200,
        })
      : new ServiceProxy();
  await proxy.setRoutes([
    {
      key: 'cost:80',
      mode: 'http',
      listen: [{ host: '127.0.0.1', port: 0 }],
      backends: data.backends,
      strategy: 'round-robin',
    },
  ]);
  parentPort?.once('message', () => {
    void proxy.stop().then(() => parentPort?.postMessage('stopped'));
  });
  parentPort?.postMessage(proxy.boundPort('cost:80', '127.0.0.1') ?? 0);
}
