/**
 * Whether this host's own networks overlap the cluster's address pool. Skiff puts bridges and
 * routes for the pool on every host; if the host's LAN, a VPN route or another engine's bridge is
 * in the same range, traffic to those addresses goes to Skiff's bridges instead (or Docker refuses
 * the network), so an agent refuses to run replicas there and says why. The cluster's own bridges
 * are told apart by name, not by range. Pure: the host's addresses and routes in, problems out.
 */
import type { ClusterAddressing, Ip4Range } from '../model/addressing.ts';
import {
  formatIp4Range,
  isOwnBridge,
  isSkiffBridge,
  parseIp4Range,
  rangesOverlap,
} from '../model/addressing.ts';

export interface HostNetworks {
  /** Each IPv4 address with its prefix (`10.231.0.11/24`), by interface. */
  readonly addresses: readonly { readonly device: string; readonly cidr: string }[];
  /** Routes of the main table: destination (`10.8.0.0/16`, or `default`) and device. */
  readonly routes: readonly { readonly destination: string; readonly device: string | undefined }[];
}

/** What overlaps, one phrase each: `address 10.231.0.11/24 on eth0`, `route 10.0.0.0/8 via tun0`. */
export function poolOverlaps(host: HostNetworks, cluster: ClusterAddressing): string[] {
  const found: string[] = [];
  const inPool = (range: Ip4Range | undefined): range is Ip4Range =>
    range !== undefined && rangesOverlap(range, cluster.pool);
  const whose = (device: string | undefined) => {
    if (device === undefined || !isSkiffBridge(device)) return '';
    // `skiff<n>`: a bridge of a Skiff from before bridges carried the cluster (its network is
    // `skiff-<name>`), which is removed once no replica uses it.
    return /^skiff\d+$/.test(device)
      ? ' (an older Skiff bridge: remove its Docker network once no container uses it)'
      : " (another Skiff cluster's bridge)";
  };
  const addressRanges: Ip4Range[] = [];
  for (const { device, cidr } of host.addresses) {
    if (isOwnBridge(cluster.clusterId, device)) continue;
    const range = parseIp4Range(cidr);
    if (!inPool(range)) continue;
    addressRanges.push(range);
    found.push(`address ${cidr} on ${device}${whose(device)}`);
  }
  for (const { destination, device } of host.routes) {
    // The default route overlaps everything by definition, and leads out of the host, not into it.
    if (destination === 'default') continue;
    if (device !== undefined && isOwnBridge(cluster.clusterId, device)) continue;
    const range = parseIp4Range(destination);
    if (!inPool(range) || range.prefixLength === 0) continue;
    // A connected route repeats an address's subnet: it is the same overlap, said once.
    const sameAsAddress = addressRanges.some(
      (a) => a.prefixLength === range.prefixLength && rangesOverlap(a, range),
    );
    if (sameAsAddress) continue;
    found.push(`route ${formatIp4Range(range)}${device ? ` on ${device}` : ''}${whose(device)}`);
  }
  return found;
}

/** The one message an operator sees (the agent's log and a node event): what, where, what to do. */
export function overlapProblem(overlaps: readonly string[], cluster: ClusterAddressing): string {
  const shown = overlaps.slice(0, 3).join(', ');
  const more = overlaps.length > 3 ? ` and ${overlaps.length - 3} more` : '';
  return (
    `this host's ${shown}${more} overlaps the cluster's address pool ${cluster.pool.cidr}, ` +
    'where Skiff puts its networks; this node runs no replicas until that is resolved. ' +
    'Give the cluster a pool no host uses at its first start (skiff server|up --address-pool CIDR, ' +
    'on a new data dir), or move this host off that range.'
  );
}
