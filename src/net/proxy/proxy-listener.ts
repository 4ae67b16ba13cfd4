/**
 * One listening socket of a route (HTTP or TCP server on one host:port) and the client
 * connections it accepted. Closing stops accepting at once, which frees the port for a route
 * that takes it over in the same update, and leaves the connections to finish; `settle` waits
 * for them up to a grace period, then cuts the rest.
 */
import type { Server, Socket } from 'node:net';
import type { ListenAddress } from './errors.ts';
import type { ListenerStats } from './proxy-route.ts';

export class ProxyListener {
  readonly address: ListenAddress;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #boundPort: number | undefined;
  #closing = false;

  constructor(address: ListenAddress, server: Server) {
    this.address = address;
    this.#server = server;
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
  }

  get closing(): boolean {
    return this.#closing;
  }

  stats(): ListenerStats {
    return { host: this.address.host, port: this.address.port, boundPort: this.#boundPort };
  }

  /** Rejects with the socket error (its `code` says why: EADDRNOTAVAIL, EADDRINUSE, EACCES). */
  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      this.#server.once('error', onError);
      this.#server.listen({ host: this.address.host, port: this.address.port }, () => {
        this.#server.off('error', onError);
        // Accept-time errors (EMFILE) must not crash the agent; the server keeps listening.
        this.#server.on('error', () => {});
        const bound = this.#server.address();
        this.#boundPort = typeof bound === 'object' && bound !== null ? bound.port : undefined;
        resolve();
      });
    });
  }

  /** Stops accepting now; an HTTP server also closes its idle keep-alive connections. */
  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    if (this.#server.listening) this.#server.close();
  }

  /** Resolves when every accepted connection has closed; with `graceMs`, cuts those still open then. */
  settle(graceMs?: number): Promise<void> {
    if (this.#sockets.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer =
        graceMs === undefined
          ? undefined
          : setTimeout(() => {
              for (const socket of this.#sockets) socket.destroy();
            }, graceMs);
      let left = this.#sockets.size;
      for (const socket of this.#sockets) {
        socket.once('close', () => {
          left--;
          if (left === 0) {
            clearTimeout(timer);
            resolve();
          }
        });
      }
    });
  }
}
