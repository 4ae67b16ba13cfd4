/**
 * Indirect probes, the pure half (the I/O is node-probes.ts): which agents to ask about a node
 * that went silent, which of its ports to try, and what their answers mean. SWIM's rule: one
 * node's silence is not evidence; several others failing to reach it is.
 *
 * - Probers: up to `PROBERS` other nodes that are ready, connected and able (`node-probe`),
 *   picked in a stable order that starts after the target, so load spreads and a test can know.
 * - Ports: the target's published ports (its replicas' engine-chosen node ports and host ports),
 *   one per replica first, at most MAX_PROBE_PORTS. None: nothing can tell, so the grace stands.
 * - Verdict: `down` when every prober that answered could not connect and at least one answered;
 *   `reachable` when any could (an agent restarting: its replicas still serve); `unknown` when
 *   none answered.
 */
import { MAX_PROBE_PORTS } from '../protocol/node-probe-messages.ts';

/** How many other agents are asked: two, as SWIM's k indirect probes with a small cluster. */
export const PROBERS = 2;

export interface ProbeCandidate {
  readonly id: string;
  readonly ready: boolean;
  readonly connected: boolean;
  readonly canProbe: boolean;
}

export function chooseProbers(candidates: readonly ProbeCandidate[], target: string): string[] {
  const able = candidates
    .filter((c) => c.id !== target && c.ready && c.connected && c.canProbe)
    .map((c) => c.id)
    .sort();
  const after = able.filter((id) => id > target);
  const before = able.filter((id) => id < target);
  return [...after, ...before].slice(0, PROBERS);
}

export interface PublishedOnNode {
  readonly taskId: string;
  readonly ports: readonly { readonly host_port: number; readonly protocol: string }[];
}

/** TCP ports the target's replicas publish, one per replica first, then the rest, deduplicated. */
export function probePorts(replicas: readonly PublishedOnNode[]): number[] {
  const byReplica = [...replicas]
    .sort((a, b) => (a.taskId < b.taskId ? -1 : 1))
    .map((r) =>
      r.ports
        .filter((p) => p.protocol === 'tcp' && p.host_port > 0)
        .map((p) => p.host_port)
        .sort((a, b) => a - b),
    );
  const chosen: number[] = [];
  for (let round = 0; chosen.length < MAX_PROBE_PORTS; round++) {
    let any = false;
    for (const ports of byReplica) {
      const port = ports[round];
      if (port === undefined) continue;
      any = true;
      if (!chosen.includes(port)) chosen.push(port);
      if (chosen.length === MAX_PROBE_PORTS) break;
    }
    if (!any) break;
  }
  return chosen;
}

export type ProbeVerdict = 'down' | 'reachable' | 'unknown';

export function probeVerdict(answers: readonly boolean[]): ProbeVerdict {
  if (answers.some((reachable) => reachable)) return 'reachable';
  return answers.length > 0 ? 'down' : 'unknown';
}
