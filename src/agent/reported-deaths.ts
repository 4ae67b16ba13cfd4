/**
 * Deaths the engine reported on its event stream, applied to a container list. The engine sends
 * `die` before its list says so, so a list made right after the event can still show the
 * container running; the event is believed until the list catches up or the container is gone.
 */
import type { ManagedContainer } from '../docker/container-engine.ts';

export interface ReportedDeath {
  /** `die` was seen; an `oom` alone comes before the process is gone and proves nothing yet. */
  readonly died: boolean;
  readonly exitCode: number | null;
  readonly oomKilled: boolean;
}

/** The listed containers with reported deaths applied; forgets deaths of containers no longer listed. */
export function withDeaths(
  containers: readonly ManagedContainer[],
  deaths: Map<string, ReportedDeath>,
): ManagedContainer[] {
  const listed = new Set(containers.map((c) => c.id));
  for (const id of deaths.keys()) if (!listed.has(id)) deaths.delete(id);
  return containers.map((c) => {
    const death = deaths.get(c.id);
    const stopped = c.state === 'exited' || c.state === 'dead';
    // The engine's `oom` event is believed too: a container inspected the moment it exited may not
    // carry the OOM flag yet, and an exited container is not inspected again.
    if (stopped && death?.oomKilled && !c.oomKilled) return { ...c, oomKilled: true };
    if (!death?.died || stopped) return c;
    return { ...c, state: 'exited', exitCode: death.exitCode, oomKilled: death.oomKilled, ports: [] };
  });
}
