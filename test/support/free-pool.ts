/**
 * An address pool for a test cluster that nothing on this host uses yet: a /16 in 10.128.0.0/10
 * that overlaps none of the host's addresses and routes, the way two CI runs beside each other
 * on one engine would each be given their own. A leftover bridge of an earlier run (which an
 * agent rightly refuses to share a range with) then never fails an unrelated test.
 */

import { readHostNetworks } from '../../src/agent/host-networks.ts';
import { parseIp4Range, rangesOverlap } from '../../src/model/addressing.ts';

const CANDIDATES = 64;

export async function freePool(): Promise<string> {
  const host = await readHostNetworks(() => {});
  const used = [...host.addresses.map((a) => a.cidr), ...host.routes.map((r) => r.destination)]
    .filter((text) => text !== 'default')
    .map((text) => parseIp4Range(text))
    .filter((range) => range !== undefined && range.prefixLength > 0);
  // A random start, so runs that overlap in time rarely pick the same one.
  const start = Math.floor(Math.random() * CANDIDATES);
  for (let i = 0; i < CANDIDATES; i++) {
    const cidr = `10.${128 + ((start + i) % CANDIDATES)}.0.0/16`;
    const range = parseIp4Range(cidr);
    if (range && !used.some((u) => u && rangesOverlap(u, range))) return cidr;
  }
  throw new Error('no free /16 in 10.128.0.0/10 on this host for a test cluster');
}
