/**
 * Where the cluster's volumes are: what each node's agent last reported (its `volumes` message),
 * the operator's moves (`skiff volume move`) and the removals asked for (`skiff volume rm`,
 * `skiff rm --volumes`), kept as one JSON value in the store's meta table so a restarted server,
 * or a new leader, still pins replicas to a down node's volumes. Volumes change rarely (a replica's
 * first start, a removal), so the value is written only when a report differs.
 */
import { z } from 'zod';
import { type ReportedVolume, reportedVolumeSchema } from '../protocol/volume-messages.ts';
import type { Store } from '../store/store.ts';

const META_KEY = 'volumes';

const registrySchema = z.object({
  /** node → its volumes as last reported. */
  nodes: z.record(z.string(), z.array(reportedVolumeSchema)).default({}),
  /** volume → the node an operator moved it to (it starts there empty). */
  moves: z.record(z.string(), z.string()).default({}),
  /** Volumes to remove: on a node, or (node null) wherever they are. */
  removals: z.array(z.object({ name: z.string(), node: z.string().nullable() })).default([]),
});
export type VolumeRegistryValue = z.output<typeof registrySchema>;

const EMPTY: VolumeRegistryValue = { nodes: {}, moves: {}, removals: [] };

/** What the scheduler needs: where each volume is, an operator's move winning over reports. */
export interface VolumePlaces {
  /** volume → the nodes that report it, in id order. */
  readonly located: ReadonlyMap<string, readonly string[]>;
  readonly moves: ReadonlyMap<string, string>;
}

let cached: { text: string | undefined; value: VolumeRegistryValue; places: VolumePlaces } | undefined;

export function readVolumes(store: Store): VolumeRegistryValue {
  return parsed(store).value;
}

/** Parsed once per change of the stored value: every controller pass reads it. */
export function volumePlaces(store: Store): VolumePlaces {
  return parsed(store).places;
}

function parsed(store: Store): NonNullable<typeof cached> {
  const text = store.getMeta(META_KEY);
  if (cached && cached.text === text) return cached;
  const value = text === undefined ? EMPTY : registrySchema.parse(JSON.parse(text));
  const located = new Map<string, string[]>();
  for (const node of Object.keys(value.nodes).sort()) {
    for (const volume of value.nodes[node] ?? []) {
      const list = located.get(volume.name) ?? [];
      list.push(node);
      located.set(volume.name, list);
    }
  }
  cached = { text, value, places: { located, moves: new Map(Object.entries(value.moves)) } };
  return cached;
}

function write(store: Store, value: VolumeRegistryValue): void {
  store.setMeta(META_KEY, JSON.stringify(value));
}

/**
 * Takes a node's report; returns the volumes it holds that are to be removed (to ask it again).
 * A removal is done once no node it names reports the volume; a move is done once the node it
 * names reports the volume and no other does.
 */
export function recordVolumes(store: Store, nodeId: string, volumes: readonly ReportedVolume[]): string[] {
  const value = readVolumes(store);
  const nodes = { ...value.nodes, [nodeId]: [...volumes] };
  const held = (name: string, node: string | null) =>
    Object.entries(nodes).some(
      ([id, list]) => (node === null || id === node) && list.some((v) => v.name === name),
    );
  const removals = value.removals.filter((r) => held(r.name, r.node));
  const moves = Object.fromEntries(
    Object.entries(value.moves).filter(
      ([name, to]) =>
        !(
          held(name, to) &&
          Object.entries(nodes).every(([id, list]) => id === to || !list.some((v) => v.name === name))
        ),
    ),
  );
  const next = { nodes, moves, removals };
  if (JSON.stringify(next) !== JSON.stringify(value)) write(store, next);
  const names = new Set(volumes.map((v) => v.name));
  return removals
    .filter((r) => (r.node === null || r.node === nodeId) && names.has(r.name))
    .map((r) => r.name);
}

/** Asks for volumes to be removed (on one node, or everywhere); returns the nodes holding them now. */
export function requestRemoval(store: Store, names: readonly string[], node: string | null = null): string[] {
  if (names.length === 0) return [];
  const value = readVolumes(store);
  const removals = [...value.removals];
  for (const name of names)
    if (!removals.some((r) => r.name === name && r.node === node)) removals.push({ name, node });
  const moves = Object.fromEntries(Object.entries(value.moves).filter(([name]) => !names.includes(name)));
  write(store, { ...value, moves, removals });
  return Object.entries(value.nodes)
    .filter(([id, list]) => (node === null || id === node) && list.some((v) => names.includes(v.name)))
    .map(([id]) => id)
    .sort();
}

/** Records an operator's move: the volume's replica starts on `to` (empty unless the volume is there). */
export function recordMove(store: Store, name: string, to: string): void {
  const value = readVolumes(store);
  write(store, { ...value, moves: { ...value.moves, [name]: to } });
}
