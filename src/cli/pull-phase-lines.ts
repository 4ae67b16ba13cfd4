/**
 * A rollout's pull phase as `skiff rollout status` prints it: a line saying where the phase
 * stands, then a node table (state, how long it took or has taken, the failure's reason). Pure.
 */
import type { PullNode, PullPhase } from '../model/rollout.ts';
import { formatSpan } from './human-units.ts';
import { formatTable } from './table.ts';

const PHASE_WORDS: Readonly<Record<PullPhase['state'], string>> = {
  pulling: 'pulling',
  done: 'done',
  failed: 'failed',
};

/** `pull phase: pulling app:v2, 1/3 nodes have it` and one row per node. */
export function formatPullPhase(phase: PullPhase, now: number): string[] {
  const have = phase.nodes.filter((n) => n.state === 'pulled').length;
  const took = spanOf(phase.started_at, phase.finished_at, now);
  const nodes = `${have}/${phase.nodes.length} node${phase.nodes.length === 1 ? ' has' : 's have'} it`;
  const head = `pull phase: ${PHASE_WORDS[phase.state]} ${phase.image}, ${nodes} (${took}${phase.state === 'pulling' ? ' so far' : ''})`;
  if (phase.nodes.length === 0) return [head];
  const rows = phase.nodes.map((n) => [n.node, n.state, nodeSpan(n, now), n.message ?? '']);
  return [
    head,
    ...formatTable(['NODE', 'PULL', 'TIME', 'MESSAGE'], rows).map((line) => `  ${line}`.trimEnd()),
  ];
}

function nodeSpan(node: PullNode, now: number): string {
  if (node.started_at === null) return '-';
  return spanOf(node.started_at, node.finished_at, now);
}

function spanOf(startedAt: string, finishedAt: string | null, now: number): string {
  const end = finishedAt === null ? now : Date.parse(finishedAt);
  const ms = Math.max(0, end - Date.parse(startedAt));
  // Pulls take seconds: tenths say more than formatSpan's whole seconds.
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)}s` : formatSpan(ms);
}
