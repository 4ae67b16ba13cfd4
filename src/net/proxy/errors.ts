/**
 * The service proxy's named errors. Caller bugs (two routes on one address, a key twice) and I/O
 * failures of the proxy itself (a listener that cannot bind, a backend that does not answer in
 * time) are errors; what a client gets (a 503, a closed connection) is an outcome, recorded in
 * the route's stats rather than thrown.
 */
import type { Backend } from './balancer.ts';

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** Two listen entries would take the same socket: the same host:port, or a wildcard and an address on one port. */
export class ListenConflictError extends Error {
  override readonly name = 'ListenConflictError';
  readonly address: ListenAddress;
  readonly routeKeys: readonly [string, string];

  constructor(address: ListenAddress, routeKeys: readonly [string, string], detail: string) {
    super(`${routeKeys[0]} and ${routeKeys[1]} both listen on ${formatAddress(address)}: ${detail}`);
    this.address = address;
    this.routeKeys = routeKeys;
  }
}

/** Two routes with one key: the caller's route table is not a table. */
export class DuplicateRouteError extends Error {
  override readonly name = 'DuplicateRouteError';
  readonly key: string;

  constructor(key: string) {
    super(`route ${key} appears twice`);
    this.key = key;
  }
}

/** One backend id twice in a route: ids name replicas, and tried-backend exclusion goes by id. */
export class DuplicateBackendError extends Error {
  override readonly name = 'DuplicateBackendError';
  readonly routeKey: string;
  readonly backendId: string;

  constructor(routeKey: string, backendId: string) {
    super(`route ${routeKey} lists backend ${backendId} twice`);
    this.routeKey = routeKey;
    this.backendId = backendId;
  }
}

export interface ListenFailure {
  readonly routeKey: string;
  readonly address: ListenAddress;
  /** The socket error code: EADDRNOTAVAIL (the address is not on an interface yet), EADDRINUSE, EACCES. */
  readonly code: string;
  readonly message: string;
}

/**
 * Some listeners could not be opened. Everything else in the route table was applied; the next
 * `setRoutes` tries the failed listeners again, so the caller's periodic resync heals them.
 */
export class ListenFailedError extends Error {
  override readonly name = 'ListenFailedError';
  readonly failures: readonly ListenFailure[];

  constructor(failures: readonly ListenFailure[]) {
    const list = failures.map((f) => `${f.routeKey} on ${formatAddress(f.address)}: ${f.code}`).join('; ');
    super(`cannot listen: ${list}`);
    this.failures = failures;
  }
}

/** The proxy was used after `stop()`. */
export class ProxyStoppedError extends Error {
  override readonly name = 'ProxyStoppedError';
}

/** A backend did not accept the connection in time; nothing was sent, so another may be tried. */
export class ConnectTimeoutError extends Error {
  override readonly name = 'ConnectTimeoutError';
  readonly code = 'ETIMEDOUT';
  readonly backend: Backend;

  constructor(backend: Backend, timeoutMs: number) {
    super(`connect to ${backend.id} at ${formatAddress(backend)} timed out after ${timeoutMs} ms`);
    this.backend = backend;
  }
}

/** A backend went silent mid-exchange for longer than the request timeout; it may be working, so no retry. */
export class UpstreamTimeoutError extends Error {
  override readonly name = 'UpstreamTimeoutError';
  readonly backend: Backend;

  constructor(backend: Backend, timeoutMs: number) {
    super(`${backend.id} at ${formatAddress(backend)} was silent for ${timeoutMs} ms`);
    this.backend = backend;
  }
}

export function formatAddress(address: ListenAddress): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
