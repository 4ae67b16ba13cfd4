/**
 * The autoscaler's decision for one service, pure: from the average usage per replica over the
 * policy's window (a share of each replica's limit) and what was recommended lately, the replica
 * count to go to, or why it holds. Kubernetes' HPA rules: `desired = ceil(current × usage ÷
 * target)`, nothing within a 10% tolerance band of the target, the larger of the CPU and memory
 * recommendations, up only once `cooldown_up` has passed since the last change, down only once
 * `cooldown_down` has and then only to the highest count recommended during it (so a dip does not
 * scale in what the next burst needs), always within [min, max], and nothing while a rollout runs.
 */

import type { AutoscalePolicy } from '../model/autoscale-policy.ts';
import { parseDurationMs } from '../model/duration.ts';

/** HPA's default: usage within 10% of the target changes nothing. */
export const TOLERANCE = 0.1;

export interface Recommendation {
  readonly at: number;
  readonly replicas: number;
}

export interface ScaleInput {
  readonly policy: AutoscalePolicy;
  /** The service's replica count now (a manual scale inside the range is respected as it is). */
  readonly current: number;
  /** Average CPU per replica over the window, as a share of its limit (1 = all of it); null: unknown. */
  readonly cpuShare: number | null;
  readonly memoryShare: number | null;
  /** How many replicas the figures come from. */
  readonly measured: number;
  readonly now: number;
  /** When the replica count last changed (by the autoscaler or by hand); null: not since start. */
  readonly lastChangeAt: number | null;
  readonly rolloutInProgress: boolean;
  /** Recommendations so far (this function returns the list to keep). */
  readonly history: readonly Recommendation[];
}

export type ScaleDecision =
  | { readonly kind: 'scale'; readonly to: number; readonly reason: string }
  | { readonly kind: 'hold'; readonly reason: string };

export interface ScaleOutcome {
  readonly decision: ScaleDecision;
  readonly history: readonly Recommendation[];
}

export function decideScale(input: ScaleInput): ScaleOutcome {
  const { policy, current, now } = input;
  const downMs = parseDurationMs(policy.cooldown_down) ?? 300_000;
  const upMs = parseDurationMs(policy.cooldown_up) ?? 30_000;
  const clamp = (n: number) => Math.min(policy.max, Math.max(policy.min, n));
  const kept = input.history.filter((r) => now - r.at <= downMs);
  const hold = (reason: string, history = kept): ScaleOutcome => ({
    decision: { kind: 'hold', reason },
    history,
  });

  // Outside the range (autoscaling just turned on, or the range changed): into it at once.
  if (current < policy.min || current > policy.max)
    return {
      decision: {
        kind: 'scale',
        to: clamp(current),
        reason: `${current} is outside ${policy.min}–${policy.max}`,
      },
      history: [],
    };
  if (input.rolloutInProgress) return hold('a rollout is in progress');
  if (input.measured === 0) return hold('no usage figures yet');

  const parts: { name: string; share: number; target: number }[] = [];
  if (policy.target_cpu_percent !== undefined && input.cpuShare !== null)
    parts.push({ name: 'CPU', share: input.cpuShare, target: policy.target_cpu_percent / 100 });
  if (policy.target_memory_percent !== undefined && input.memoryShare !== null)
    parts.push({ name: 'memory', share: input.memoryShare, target: policy.target_memory_percent / 100 });
  if (parts.length === 0) return hold('no usage figures yet');

  const figures = parts
    .map(
      (p) =>
        `${p.name} ${Math.round(p.share * 100)}% of the limit per replica (target ${Math.round(p.target * 100)}%)`,
    )
    .join(', ');
  const wanted = parts.map((p) => {
    const ratio = p.share / p.target;
    // Less a hair: 2 × 1.05 ÷ 0.7 is 3.0000000000000004 in floating point, and means 3.
    return Math.abs(ratio - 1) <= TOLERANCE ? current : Math.ceil(current * ratio - 1e-9);
  });
  const recommended = clamp(Math.max(...wanted));
  const history = [...kept, { at: now, replicas: recommended }];
  const sinceChange = input.lastChangeAt === null ? Number.POSITIVE_INFINITY : now - input.lastChangeAt;

  if (recommended > current) {
    if (sinceChange < upMs)
      return hold(`${figures}: wants ${recommended}, cooling down after the last change`, history);
    return { decision: { kind: 'scale', to: recommended, reason: figures }, history };
  }
  // Down only to the highest count recommended over the cool-down: the last few minutes' peak.
  const stable = Math.max(...history.map((r) => r.replicas));
  if (stable < current) {
    if (sinceChange < downMs)
      return hold(`${figures}: wants ${stable}, cooling down after the last change`, history);
    return {
      decision: { kind: 'scale', to: stable, reason: `${figures}, for ${policy.cooldown_down}` },
      history,
    };
  }
  return hold(`${figures}: ${current} is right`, history);
}
