/**
 * Which of this cluster's networks on the engine no longer serve a purpose: none of the node's
 * desired tasks uses them. Removing them gives the subnet back to the host (a freed network
 * index may come back under another name, whose create would otherwise fail on the overlap) and
 * leaves nothing behind a removed service or stack. Pure; the engine refuses to remove a network
 * a container still uses, which covers replicas still stopping.
 */
import { dockerNetworkName } from '../model/addressing.ts';
import type { TaskSpec } from '../protocol/messages.ts';

export function unusedNetworks(
  own: readonly string[],
  desired: readonly TaskSpec[],
  clusterId: string,
): string[] {
  const inUse = new Set(
    desired.flatMap((task) => task.networks.map((n) => dockerNetworkName(clusterId, n.name))),
  );
  return own.filter((name) => !inUse.has(name)).sort();
}
