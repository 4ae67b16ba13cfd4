/**
 * The agent's end of HAProxy's request log: a unix stream socket in the agent's HAProxy directory
 * (mode 700, so only the agent's user reaches it) that each worker's ring forwarder connects to.
 * Every worker has a connection of its own (a reload's new one connects while the old one
 * finishes), each cut into lines by its own splitter. Reading never slows a request: HAProxy
 * writes into its ring and forwards from there, so a stalled agent costs ring space, not latency.
 */
import { rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { LineSplitter, type LoggedRequest, parseRequestLine } from './haproxy-request-log.ts';

export class HaproxyLogSocket {
  readonly #path: string;
  readonly #onRequest: (request: LoggedRequest) => void;
  readonly #connections = new Set<Socket>();
  #server: Server | undefined;
  #listening: Promise<void> | undefined;

  constructor(path: string, onRequest: (request: LoggedRequest) => void) {
    this.#path = path;
    this.#onRequest = onRequest;
  }

  /**
   * Listens (once; later calls wait for the first, and after a failure try again). A leftover
   * socket file is replaced.
   */
  listen(): Promise<void> {
    this.#listening ??= new Promise<void>((resolve, reject) => {
      rmSync(this.#path, { force: true });
      const server = createServer((socket) => this.#accept(socket));
      server.once('error', reject);
      server.listen(this.#path, () => {
        server.off('error', reject);
        // A failure after listening (none expected on a unix socket) must not crash the agent.
        server.on('error', () => {});
        resolve();
      });
      this.#server = server;
    }).catch((error: unknown) => {
      this.#listening = undefined;
      this.#server = undefined;
      throw error;
    });
    return this.#listening;
  }

  async close(): Promise<void> {
    for (const socket of this.#connections) socket.destroy();
    const server = this.#server;
    this.#server = undefined;
    if (server?.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(this.#path, { force: true });
  }

  #accept(socket: Socket): void {
    this.#connections.add(socket);
    const splitter = new LineSplitter();
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      for (const line of splitter.push(chunk)) {
        const request = parseRequestLine(line);
        if (request !== undefined) this.#onRequest(request);
      }
    });
    socket.on('error', () => {});
    socket.once('close', () => this.#connections.delete(socket));
  }
}
