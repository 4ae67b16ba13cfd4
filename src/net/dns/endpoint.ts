/**
 * UDP endpoints of the DNS server: where it listens and which upstream resolvers it forwards to.
 * Addresses are kept in one canonical spelling so that a reply's source (as the kernel reports it)
 * compares equal to the upstream we sent to, and a listener is found again by the address the
 * agent passed.
 */
import { isIP, SocketAddress } from 'node:net';
import { InvalidUpstreamError } from './errors.ts';

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

export const DNS_PORT = 53;

/** `::0:1` and `::1` are one address; IPv4 and zone-scoped IPv6 addresses are kept as written. */
export function canonicalAddress(address: string): string {
  if (isIP(address) !== 6 || address.includes('%')) return address;
  return new SocketAddress({ address, family: 'ipv6' }).address;
}

export function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.port === b.port && canonicalAddress(a.address) === canonicalAddress(b.address);
}

/** `1.1.1.1`, `1.1.1.1:5353`, `2606:4700::1111` or `[::1]:5353`; a bare address means port 53. */
export function parseUpstream(text: string): Endpoint {
  const trimmed = text.trim();
  if (isIP(trimmed) !== 0) return { address: canonicalAddress(trimmed), port: DNS_PORT };
  const parsed = SocketAddress.parse(trimmed);
  // `SocketAddress.parse` reads a bare `host` as port 0, which is no resolver.
  if (parsed === undefined || parsed.port === 0) throw new InvalidUpstreamError(text);
  return { address: canonicalAddress(parsed.address), port: parsed.port };
}
