/**
 * The host's upstream resolvers, from `/etc/resolv.conf`: the `nameserver` lines, in order, minus
 * any that is one of our own listen addresses (forwarding there would loop back to us). Loopback
 * nameservers such as systemd-resolved's 127.0.0.53 are kept: the agent forwards from the host's
 * own network namespace, where they answer.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { canonicalAddress, DNS_PORT, type Endpoint, sameEndpoint } from './endpoint.ts';
import { ResolvConfError } from './errors.ts';

export const RESOLV_CONF_PATH = '/etc/resolv.conf';

/** Nameserver addresses in file order, each once; malformed lines are skipped as the C library does. */
export function parseNameservers(text: string): string[] {
  const nameservers: string[] = [];
  for (const line of text.split('\n')) {
    const [keyword, value] = line
      .replace(/[#;].*$/, '')
      .trim()
      .split(/\s+/);
    if (keyword !== 'nameserver' || value === undefined || isIP(value) === 0) continue;
    const address = canonicalAddress(value);
    if (!nameservers.includes(address)) nameservers.push(address);
  }
  return nameservers;
}

/** `nameservers` without those that are us (a resolv.conf nameserver is always on port 53). */
export function withoutOwnListeners(
  nameservers: readonly string[],
  listeners: readonly Endpoint[],
): string[] {
  return nameservers.filter(
    (address) => !listeners.some((own) => sameEndpoint(own, { address, port: DNS_PORT })),
  );
}

/** Reads the host's nameservers; a missing file means none (the caller decides whether that is fatal). */
export async function loadNameservers(path: string = RESOLV_CONF_PATH): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return [];
    throw new ResolvConfError(path, { cause: error });
  }
  return parseNameservers(text);
}
