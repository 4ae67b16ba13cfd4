/**
 * The vocabulary between the service proxy and its caller: a route (what to listen on, where to
 * send it, how to choose) and the stats read back. A route is keyed by `service:port`; its
 * backends are the healthy, ready replicas, already filtered by the caller.
 */
import type { Backend, Strategy } from './balancer.ts';
import type { ListenAddress } from './errors.ts';

export type ProxyMode = 'http' | 'tcp';

export interface ProxyRoute {
  /** e.g. "api-server:8080"; unique in one route table. */
  readonly key: string;
  readonly mode: ProxyMode;
  /** VIP:port on a bridge, or a node address and the published port; port 0 binds any free port (tests). */
  readonly listen: readonly ListenAddress[];
  /** Healthy, ready replicas (already filtered by the caller). */
  readonly backends: readonly Backend[];
  readonly strategy: Strategy;
  /** Accept a client by its address (network isolation); absent = everyone. */
  readonly allow?: (clientAddress: string) => boolean;
  /** The same rule as CIDRs, for a proxy that cannot call `allow` (HAProxy's `src` match). */
  readonly allowCidrs?: readonly string[];
}

export interface BackendStats {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  /** Connections (tcp) or requests (http) in flight now. */
  readonly active: number;
  /** Connections or requests sent to it since it joined the route. */
  readonly total: number;
  /** Connect failures, resets and timeouts seen on it. */
  readonly failures: number;
  /** Removed from the route but still finishing in-flight work: stop the replica when `active` is 0. */
  readonly draining: boolean;
}

export interface ListenerStats {
  readonly host: string;
  /** The port asked for (0 = any). */
  readonly port: number;
  /** The port bound, once listening. */
  readonly boundPort: number | undefined;
}

export interface RouteStats {
  readonly key: string;
  readonly mode: ProxyMode;
  readonly listeners: readonly ListenerStats[];
  /** Client connections accepted (both modes). */
  readonly connections: number;
  /** HTTP requests received (0 in tcp mode). */
  readonly requests: number;
  /** Clients turned away by `allow` (403 or a reset). */
  readonly rejected: number;
  /** Clients the proxy failed: no backend, all refused, 502/504, or a tcp client closed without one. */
  readonly failures: number;
  /** Attempts moved to another backend after a connect failure or a reset before the request arrived. */
  readonly retries: number;
  readonly backends: readonly BackendStats[];
}
