/**
 * The rollout's pull phase, as a pure step: from the phase as stored, the nodes the new revision
 * may run on (its targets) and what their agents said of the pull, the phase as it now stands,
 * the nodes to ask now, and whether the phase failed. The caller (server/plan-pass.ts) holds the
 * service's replacements until the phase is `done`, so no old replica stops before the new image
 * is on every node that may run it; a failed phase fails (or rolls back) the rollout with every
 * old replica still serving.
 *
 * At most `maxParallel` nodes pull at once (a registry serving a whole cluster at once is the
 * bottleneck, not one node). A node whose agent cannot be asked (an older agent, without the
 * `pre-pull` feature) is `skipped`: it pulls when its replica starts, as before. A node that
 * leaves the targets (down, drained) leaves the phase; one that joins is asked too. A pull asked
 * over a link that then dropped is asked again on the next one (a pull of a present image is an
 * instant success). A finished phase (`done`, `failed`) never changes again.
 */
import type { PullNode, PullPhase } from '../model/rollout.ts';

/** What a node's agent last said of this phase's pull (protocol `image.pull_status`). */
export interface PullObservation {
  readonly state: 'pulling' | 'pulled' | 'failed';
  readonly message: string | null;
  /** When the server heard it (epoch ms). */
  readonly at: number;
}

/** A node the new revision may run on. */
export interface PullTarget {
  readonly id: string;
  /** Its agent has the `pre-pull` feature. */
  readonly canPull: boolean;
  /** It was asked to pull over its current link. */
  readonly asked: boolean;
  readonly observed: PullObservation | undefined;
}

export interface PrePullInput {
  readonly image: string;
  /** The phase as stored on the rollout; undefined when it starts now. */
  readonly phase: PullPhase | undefined;
  readonly targets: readonly PullTarget[];
  readonly maxParallel: number;
  /** The phase fails when it has not finished this long after it started. */
  readonly deadlineMs: number;
  readonly now: number;
}

export interface PrePullStep {
  readonly phase: PullPhase;
  /** Nodes to send the pull request to now. */
  readonly ask: readonly string[];
  /** Why the phase failed (the rollout's failure message); null unless `phase.state` is `failed`. */
  readonly failure: string | null;
}

/** Default bound on nodes pulling at once for one rollout. */
export const PULL_PARALLELISM = 4;
/** Default `update.pull_deadline`. */
export const PULL_DEADLINE_MS = 5 * 60_000;

const SKIPPED_MESSAGE = 'agent cannot pre-pull (older version): it pulls when its replica starts';

export function stepPrePull(input: PrePullInput): PrePullStep {
  const { image, now } = input;
  if (input.maxParallel < 1) throw new RangeError(`maxParallel must be ≥ 1, got ${input.maxParallel}`);
  const stored = input.phase?.image === image ? input.phase : undefined;
  if (stored && stored.state !== 'pulling') return { phase: stored, ask: [], failure: failureOf(stored) };
  const at = new Date(now).toISOString();
  const before = new Map((stored?.nodes ?? []).map((n) => [n.node, n]));
  const targets = [...input.targets].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

  const nodes: PullNode[] = [];
  const waiting: number[] = [];
  let pulling = 0;
  for (const target of targets) {
    const previous = before.get(target.id);
    const entry = (
      state: PullNode['state'],
      message: string | null,
      finishedAt: string | null,
    ): PullNode => ({
      node: target.id,
      state,
      message,
      started_at: previous?.started_at ?? (state === 'waiting' || state === 'skipped' ? null : at),
      finished_at: finishedAt,
    });
    const observed = target.observed;
    if (!target.canPull) nodes.push(entry('skipped', SKIPPED_MESSAGE, null));
    else if (observed?.state === 'pulled' || (observed === undefined && previous?.state === 'pulled'))
      nodes.push(
        entry('pulled', null, observed ? new Date(observed.at).toISOString() : (previous?.finished_at ?? at)),
      );
    else if (observed?.state === 'failed')
      nodes.push(entry('failed', observed.message ?? 'pull failed', new Date(observed.at).toISOString()));
    else if (observed?.state === 'pulling' || target.asked) {
      nodes.push(entry('pulling', null, null));
      pulling++;
    } else {
      waiting.push(nodes.length);
      nodes.push(entry('waiting', null, null));
    }
  }

  const ask: string[] = [];
  for (const index of waiting) {
    if (pulling >= input.maxParallel) break;
    const node = nodes[index];
    if (!node) continue;
    nodes[index] = { ...node, state: 'pulling', started_at: node.started_at ?? at };
    ask.push(node.node);
    pulling++;
  }

  const startedAt = stored?.started_at ?? at;
  const failed = nodes.filter((n) => n.state === 'failed');
  const unfinished = nodes.filter((n) => n.state === 'pulling' || n.state === 'waiting');
  let failure: string | null = null;
  if (failed.length > 0) failure = pullFailure(image, failed);
  else if (unfinished.length > 0 && now - Date.parse(startedAt) > input.deadlineMs) {
    failure = `image ${image} not pulled within ${input.deadlineMs / 1000}s on ${unfinished.map((n) => n.node).join(', ')}`;
    for (const [i, node] of nodes.entries())
      if (node.state === 'pulling' || node.state === 'waiting')
        nodes[i] = { ...node, state: 'failed', message: 'pull deadline passed', finished_at: at };
  }
  const state: PullPhase['state'] = failure !== null ? 'failed' : unfinished.length > 0 ? 'pulling' : 'done';
  const phase: PullPhase = {
    image,
    state,
    started_at: startedAt,
    finished_at: state === 'pulling' ? null : at,
    nodes,
  };
  // A failed phase asks nothing more: its rollout ends now.
  return { phase, ask: failure === null ? ask : [], failure };
}

function pullFailure(image: string, failed: readonly PullNode[]): string {
  const [first, ...others] = failed;
  const more = others.length > 0 ? ` (and on ${others.map((n) => n.node).join(', ')})` : '';
  return `image ${image} could not be pulled on ${first?.node}: ${first?.message ?? 'pull failed'}${more}`;
}

/** A stored failed phase's reason, said again the same way. */
function failureOf(phase: PullPhase): string | null {
  if (phase.state !== 'failed') return null;
  const failed = phase.nodes.filter((n) => n.state === 'failed');
  return failed.length > 0 ? pullFailure(phase.image, failed) : `image ${phase.image} could not be pulled`;
}

/** True when the two phases say the same (the rollout record needs no write). */
export function samePhase(a: PullPhase | undefined, b: PullPhase): boolean {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b);
}
