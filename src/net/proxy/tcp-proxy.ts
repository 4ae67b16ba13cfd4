/**
 * TCP mode: each accepted connection is spliced to a picked backend. Connect failures (refused,
 * reset, timed out) move to the next backend, which is safe because nothing has been read from
 * the client or written to it yet; with none left the client is reset at once. Once spliced,
 * bytes flow both ways, a FIN is passed on as a half-close, and an error on either side ends
 * both.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Backend } from './balancer.ts';
import { clientAddress } from './client-address.ts';
import { ConnectTimeoutError } from './errors.ts';
import type { Lease, RouteState } from './route-state.ts';

export interface TcpProxyOptions {
  readonly connectTimeoutMs: number;
}

export function createTcpProxyServer(route: RouteState, options: TcpProxyOptions): Server {
  // allowHalfOpen: a client's FIN must only end the backend's write side; the reply still flows.
  return createServer({ allowHalfOpen: true, noDelay: true }, (client) =>
    handleConnection(client, route, options),
  );
}

function handleConnection(client: Socket, route: RouteState, options: TcpProxyOptions): void {
  route.countConnection();
  const address = clientAddress(client);
  if (address === undefined || !route.allows(address)) {
    route.countRejected();
    client.resetAndDestroy();
    return;
  }
  // Until spliced, a client error or close only cancels the pending connect.
  let pending: Socket | undefined;
  const abandon = () => pending?.destroy();
  client.on('error', abandon);
  client.once('close', abandon);
  const tried = new Set<string>();

  const tryNext = (): void => {
    if (client.destroyed) return;
    const backend = route.pick(tried);
    if (backend === undefined) {
      route.countFailure();
      client.resetAndDestroy();
      return;
    }
    if (tried.size > 0) route.countRetry();
    tried.add(backend.id);
    const lease = route.begin(backend);
    const upstream = connectWithTimeout(backend, options.connectTimeoutMs);
    pending = upstream;
    const onConnectError = () => {
      pending = undefined;
      lease.end('failed');
      tryNext();
    };
    upstream.once('error', onConnectError);
    upstream.once('connect', () => {
      pending = undefined;
      upstream.off('error', onConnectError);
      client.off('error', abandon);
      client.off('close', abandon);
      splice(client, upstream, lease);
    });
  };
  tryNext();
}

function connectWithTimeout(backend: Backend, timeoutMs: number): Socket {
  const socket = connect({ host: backend.host, port: backend.port, allowHalfOpen: true, noDelay: true });
  const timer = setTimeout(() => socket.destroy(new ConnectTimeoutError(backend, timeoutMs)), timeoutMs);
  socket.once('connect', () => clearTimeout(timer));
  socket.once('close', () => clearTimeout(timer));
  return socket;
}

function splice(client: Socket, upstream: Socket, lease: Lease): void {
  // pipe() ends the destination when the source ends: that is the half-close.
  client.pipe(upstream);
  upstream.pipe(client);
  const fail = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', fail);
  upstream.on('error', () => {
    lease.end('failed');
    fail();
  });
  let open = 2;
  const onClose = (closed: Socket, other: Socket) => () => {
    // A side that closed without finishing both directions (destroyed, reset) leaves the other
    // with nobody to talk to; a side that finished cleanly lets the other flush and close itself.
    if (!closed.readableEnded || !closed.writableFinished) other.destroy();
    open--;
    if (open === 0) lease.end('ok'); // no-op when the backend's error already ended it as failed
  };
  client.once('close', onClose(client, upstream));
  upstream.once('close', onClose(upstream, client));
}
