/**
 * Real backends and clients on 127.0.0.1 for the proxy's tests and its cost measurement: HTTP
 * servers that answer their name, TCP servers that echo behind their name, a port that refuses,
 * and small clients. Every wait is on an event or a deadline-bounded poll, never a sleep.
 */
import {
  Agent,
  createServer,
  type IncomingHttpHeaders,
  type RequestListener,
  request,
  type Server,
} from 'node:http';
import { connect, createServer as createTcpServer, type Socket, type Server as TcpServer } from 'node:net';
import { Worker } from 'node:worker_threads';
import type { Backend } from './balancer.ts';

const LOOPBACK = '127.0.0.1';

export interface HttpBackend {
  readonly backend: Backend;
  readonly server: Server;
  /** Requests it has received. */
  hits(): number;
  close(): Promise<void>;
}

/** Answers every request with its name, unless `handler` is given. */
export async function startHttpBackend(name: string, handler?: RequestListener): Promise<HttpBackend> {
  let hits = 0;
  const server = createServer((req, res) => {
    hits++;
    if (handler !== undefined) {
      handler(req, res);
      return;
    }
    req.resume();
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end(name);
  });
  const port = await listen(server);
  return {
    backend: { id: name, host: LOOPBACK, port },
    server,
    hits: () => hits,
    close: () => closeServer(server),
  };
}

export interface TcpBackend {
  readonly backend: Backend;
  readonly server: TcpServer;
  close(): Promise<void>;
}

/** Writes `name:` on connect, echoes what it reads, and ends its side after the client's FIN. */
export async function startEchoBackend(name: string): Promise<TcpBackend> {
  const sockets = new Set<Socket>();
  const server = createTcpServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.write(`${name}:`);
    socket.pipe(socket);
  });
  const port = await listen(server);
  return {
    backend: { id: name, host: LOOPBACK, port },
    server,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return closeServer(server);
    },
  };
}

/** A loopback port nothing listens on (bound then released, so the kernel refuses it). */
export async function refusingPort(): Promise<number> {
  const server = createTcpServer();
  const port = await listen(server);
  await closeServer(server);
  return port;
}

export interface BlackholePort {
  readonly port: number;
  release(): Promise<void>;
}

/**
 * A loopback port whose connects hang: a thread listens with a backlog of 1 and then blocks, so
 * it never accepts. Linux queues backlog + 1 = 2 handshakes; two fillers take those places, after
 * which the kernel drops further SYNs. A third filler must then fail to connect within `probeMs`.
 */
export async function blackholePort(probeMs = 200): Promise<BlackholePort> {
  const gate = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const server = require('node:net').createServer();
     server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
       parentPort.postMessage(server.address().port);
       Atomics.wait(workerData, 0, 0);
     });`,
    { eval: true, workerData: gate },
  );
  const port = await new Promise<number>((resolve) => worker.once('message', resolve));
  const fillers: Socket[] = [];
  const fill = (waitMs: number) =>
    new Promise<boolean>((resolve) => {
      const socket = connect({ host: LOOPBACK, port });
      socket.on('error', () => {});
      fillers.push(socket);
      const timer = setTimeout(() => resolve(false), waitMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  const queued = [await fill(5000), await fill(5000)];
  const probe = await fill(probeMs);
  if (queued.includes(false) || probe) throw new Error(`port ${port} did not become a blackhole`);
  return {
    port,
    release: async () => {
      for (const socket of fillers) socket.destroy();
      Atomics.store(gate, 0, 1);
      Atomics.notify(gate, 0);
      await worker.terminate();
    },
  };
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface HttpCall {
  readonly path?: string;
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
  readonly agent?: Agent;
}

export function httpCall(port: number, call: HttpCall = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: LOOPBACK,
        port,
        path: call.path ?? '/',
        method: call.method ?? 'GET',
        headers: call.headers,
        agent: call.agent ?? false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.once('error', reject);
        res.once('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
      },
    );
    req.once('error', reject);
    req.end(call.body);
  });
}

export interface TcpAnswer {
  readonly data: string;
  /** How the connection ended: a clean close, or the error code (ECONNRESET when reset). */
  readonly ending: string;
}

/** Connects, sends `payload`, half-closes, and collects everything until the connection closes. */
export function tcpCall(port: number, payload: string): Promise<TcpAnswer> {
  return new Promise((resolve) => {
    const socket = connect({ host: LOOPBACK, port, allowHalfOpen: true });
    const chunks: Buffer[] = [];
    let ending = 'closed';
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error: Error & { code?: string }) => {
      ending = error.code ?? error.name;
    });
    socket.once('close', () => resolve({ data: Buffer.concat(chunks).toString(), ending }));
    socket.end(payload);
  });
}

export function keepAliveAgent(maxSockets = 1): Agent {
  return new Agent({ keepAlive: true, maxSockets });
}

/** Polls `predicate` until it holds; rejects after `timeoutMs` with `what` in the message. */
export async function waitFor(
  what: string,
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Client connections the server holds open now. */
export function connectionCount(server: Server | TcpServer): Promise<number> {
  return new Promise((resolve, reject) =>
    server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
  );
}

function listen(server: Server | TcpServer): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => {
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : 0);
    });
  });
}

function closeServer(server: Server | TcpServer): Promise<void> {
  return new Promise((resolve) => {
    if ('closeAllConnections' in server) server.closeAllConnections();
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
  });
}
