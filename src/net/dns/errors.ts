/**
 * The DNS server's named errors. They are for configuration mistakes and I/O failures of the
 * server itself; what a query gets (NXDOMAIN, SERVFAIL, a relayed answer) is a value, never one of
 * these, and a bad packet from the network is dropped rather than thrown.
 */
import type { Endpoint } from './endpoint.ts';

/** A listener could not be bound: the address is not on this host (yet), or the port is taken. */
export class DnsListenerError extends Error {
  override readonly name = 'DnsListenerError';
  readonly endpoint: Endpoint;

  constructor(endpoint: Endpoint, message: string, options?: ErrorOptions) {
    super(`cannot listen for DNS on ${formatEndpoint(endpoint)}: ${message}`, options);
    this.endpoint = endpoint;
  }
}

/** An upstream resolver is not `address`, `address:port` or `[ipv6]:port`. */
export class InvalidUpstreamError extends Error {
  override readonly name = 'InvalidUpstreamError';
  readonly upstream: string;

  constructor(upstream: string) {
    super(`not a resolver address: ${JSON.stringify(upstream)} (expected ip, ip:port or [ipv6]:port)`);
    this.upstream = upstream;
  }
}

/** The server was asked to do something its lifecycle does not allow (start twice, add after stop). */
export class DnsServerStateError extends Error {
  override readonly name = 'DnsServerStateError';
}

/** The host's resolv.conf could not be read. */
export class ResolvConfError extends Error {
  override readonly name = 'ResolvConfError';
  readonly path: string;

  constructor(path: string, options?: ErrorOptions) {
    super(`cannot read ${path}`, options);
    this.path = path;
  }
}

export function formatEndpoint(endpoint: Endpoint): string {
  return endpoint.address.includes(':')
    ? `[${endpoint.address}]:${endpoint.port}`
    : `${endpoint.address}:${endpoint.port}`;
}
