/**
 * Volume pinning, pure: a replica whose named volume exists on a node runs on that node, so its
 * data is where it runs. Where a volume is comes from the agents' reports (and an operator's
 * `skiff volume move`, which wins); a volume not yet reported anywhere follows the slot's earlier
 * replica that ran (its volume is on that node, the report may not be in yet), and a volume
 * nowhere at all pins nothing (the replica's first node creates it).
 *
 * The scheduler gets the pin as a hard filter with its reason ("volume data-0 is on node-2"): a
 * pinned replica whose node is down, drained or full waits, with that reason, rather than starting
 * empty elsewhere. A global service's replicas each have their node already: never pinned here.
 */
import { replicaVolumes, type VolumeMount } from '../model/volume-spec.ts';

export interface VolumePin {
  readonly nodeId: string;
  readonly volume: string;
  /** `volume data-0 is on node-2`: the pending reason's first part. */
  readonly reason: string;
}

export interface PinInput {
  readonly spec: {
    readonly name: string;
    readonly mode?: string | undefined;
    readonly volumes?: readonly VolumeMount[] | undefined;
  };
  readonly slot: number;
  /** volume → the nodes whose agents report it, in id order. */
  readonly located: ReadonlyMap<string, readonly string[]>;
  /** volume → the node an operator moved it to. */
  readonly moves: ReadonlyMap<string, string>;
  /**
   * Earlier replicas of this slot that ran (a container was seen), newest first, with the named
   * volumes they mounted: which of several copies is the slot's, and where a volume not reported
   * yet is.
   */
  readonly slotHistory: readonly { readonly nodeId: string; readonly volumes: ReadonlySet<string> }[];
}

export function volumePin(input: PinInput): VolumePin | undefined {
  if (input.spec.mode === 'global') return undefined;
  for (const volume of replicaVolumes(input.spec, input.slot)) {
    const moved = input.moves.get(volume.name);
    const holders = moved === undefined ? (input.located.get(volume.name) ?? []) : [moved];
    const ran = input.slotHistory.filter((h) => h.volumes.has(volume.name)).map((h) => h.nodeId);
    const nodeId = holders.length === 0 ? ran[0] : (ran.find((n) => holders.includes(n)) ?? holders[0]);
    if (nodeId === undefined) continue;
    return { nodeId, volume: volume.name, reason: `volume ${volume.name} is on ${nodeId}` };
  }
  return undefined;
}
