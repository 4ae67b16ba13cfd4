/**
 * Who this server is to the others: an id stable across its restarts (host name and port) and
 * the URL agents and other servers reach it at (`--advertise`, else https on the listen address,
 * or on the host's first external IPv4 address when it listens on all of them).
 */
import { hostname, networkInterfaces } from 'node:os';
import type { ServerIdentity } from './leadership.ts';

export function serverIdentity(input: {
  readonly listen: string;
  readonly port: number;
  readonly advertiseUrl: string | undefined;
  readonly startedAt: number;
}): ServerIdentity {
  const host = hostname().split('.')[0] || 'server';
  const url =
    input.advertiseUrl?.replace(/\/+$/, '') ??
    `https://${bracketed(advertisedHost(input.listen))}:${input.port}`;
  return { id: `${host}-${input.port}`, url, startedAt: input.startedAt };
}

function advertisedHost(listen: string): string {
  if (listen !== '0.0.0.0' && listen !== '::') return listen;
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? [])
      if (address.family === 'IPv4' && !address.internal) return address.address;
  }
  return '127.0.0.1';
}

function bracketed(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
