/**
 * Server slots of one HAProxy backend, and the runtime-API commands that move it from one set of
 * replicas to the next. Pure. A backend is configured with a fixed number of `server` lines
 * (slots); a replica is put in a free slot by changing that slot's address and setting it ready,
 * and taken out by setting it to maint, so a replica joining or leaving needs no reload (which
 * would cut idle keep-alive connections and restart the workers). Only when the replicas outgrow
 * the slots does the backend change shape: it then gets twice the slots, in a reload.
 *
 * A slot set to maint keeps its address until it is reused, and the slot reused first is the one
 * free the longest, so a request still finishing on a replica that just left is not followed by a
 * new replica taking its slot at once. A replica that comes back to its old slot is set ready
 * again without an address change.
 */
import type { Backend } from '../proxy/balancer.ts';
import { backendKey } from '../proxy/route-state.ts';

/** One `server` line: who holds it (by `backendKey`, or null when free) and where it points. */
export interface Slot {
  readonly holder: string | null;
  readonly host: string;
  readonly port: number;
  /** When (in `planSlots` calls, not time) it was freed: the oldest free slot is reused first. */
  readonly freedAt: number;
}

export interface SlotTable {
  readonly slots: readonly Slot[];
  /** Counts `planSlots` calls, for `freedAt`. */
  readonly generation: number;
}

/** A runtime-API change to one slot, in order: an address first, then its state. */
export type SlotCommand =
  | { readonly kind: 'address'; readonly slot: number; readonly host: string; readonly port: number }
  | { readonly kind: 'state'; readonly slot: number; readonly state: 'ready' | 'maint' };

export interface SlotPlan {
  readonly table: SlotTable;
  /** Runtime commands from the previous table to this one; empty when it was grown (a reload). */
  readonly commands: readonly SlotCommand[];
  /** The slot count changed: the backend must be written anew and HAProxy reloaded. */
  readonly grown: boolean;
}

/** Slots a new backend starts with, whatever its replicas: room for a rolling update of a few. */
export const MIN_SLOTS = 4;

/** Where a slot nobody has held points: the discard port, never used because it is in maint. */
export const UNUSED_SLOT = { host: '127.0.0.1', port: 9 } as const;

export function emptySlots(count: number): SlotTable {
  const slots = Array.from({ length: count }, () => ({ ...UNUSED_SLOT, holder: null, freedAt: -1 }));
  return { slots, generation: 0 };
}

/** The smallest power-of-two multiple of MIN_SLOTS that holds `replicas` with room to roll one more. */
export function slotsFor(replicas: number): number {
  let count = MIN_SLOTS;
  while (count < replicas + 1) count *= 2;
  return count;
}

export function planSlots(previous: SlotTable | undefined, backends: readonly Backend[]): SlotPlan {
  const generation = (previous?.generation ?? 0) + 1;
  const base = previous ?? emptySlots(slotsFor(backends.length));
  const wantedKeys = new Set(backends.map(backendKey));
  const grown = base.slots.length < backends.length;
  const size = grown ? slotsFor(backends.length) : base.slots.length;
  const slots: Slot[] = base.slots.map((slot) =>
    slot.holder !== null && !wantedKeys.has(slot.holder)
      ? { ...slot, holder: null, freedAt: generation }
      : slot,
  );
  while (slots.length < size) slots.push({ ...UNUSED_SLOT, holder: null, freedAt: -1 });

  const held = new Set(slots.flatMap((slot) => (slot.holder === null ? [] : [slot.holder])));
  const commands: SlotCommand[] = [];
  for (const [index, slot] of base.slots.entries()) {
    if (slot.holder !== null && slots[index]?.holder === null)
      commands.push({ kind: 'state', slot: index, state: 'maint' });
  }
  for (const backend of backends) {
    const key = backendKey(backend);
    if (held.has(key)) continue;
    // Its own old slot first (a replica back from unhealthy), else the one free the longest.
    const index = pickFree(slots, backend);
    if (index === undefined) throw new Error(`no free slot for ${key}: ${slots.length} slots`);
    const old = slots[index];
    slots[index] = { holder: key, host: backend.host, port: backend.port, freedAt: -1 };
    held.add(key);
    if (old === undefined || old.host !== backend.host || old.port !== backend.port) {
      commands.push({ kind: 'address', slot: index, host: backend.host, port: backend.port });
    }
    commands.push({ kind: 'state', slot: index, state: 'ready' });
  }
  return { table: { slots, generation }, commands: grown ? [] : commands, grown };
}

function pickFree(slots: readonly Slot[], backend: Backend): number | undefined {
  let best: number | undefined;
  let bestFreedAt = Number.POSITIVE_INFINITY;
  for (const [index, slot] of slots.entries()) {
    if (slot.holder !== null) continue;
    if (slot.host === backend.host && slot.port === backend.port && slot.freedAt >= 0) return index;
    if (slot.freedAt < bestFreedAt) {
      best = index;
      bestFreedAt = slot.freedAt;
    }
  }
  return best;
}

/** The commands as runtime-API lines for backend `backendName` (slot i is server `s<i>`). */
export function runtimeLines(backendName: string, commands: readonly SlotCommand[]): string[] {
  return commands.map((command) =>
    command.kind === 'address'
      ? `set server ${backendName}/${slotName(command.slot)} addr ${command.host} port ${command.port}`
      : `set server ${backendName}/${slotName(command.slot)} state ${command.state}`,
  );
}

export function slotName(index: number): string {
  return `s${index}`;
}
