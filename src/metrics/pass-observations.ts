/**
 * What one controller pass means for the counters: how rollouts ended, and how long each replica
 * placed in it waited from creation to a node. Pure: the plan, the tasks' creation times and
 * `now` in, observations out.
 */
import type { Rollout } from '../model/rollout.ts';
import type { PassPlan } from '../server/plan-pass.ts';

export const ROLLOUT_RESULTS = ['succeeded', 'rolled_back', 'failed'] as const;
export type RolloutResult = (typeof ROLLOUT_RESULTS)[number];

export interface PassObservations {
  readonly rollouts: readonly { readonly service: string; readonly result: RolloutResult }[];
  /** Seconds from each placed replica's creation to its placement. */
  readonly schedulingLatenciesS: readonly number[];
}

function resultOf(state: Rollout['state']): RolloutResult | undefined {
  if (state === 'complete') return 'succeeded';
  if (state === 'rolled_back' || state === 'failed') return state;
  return undefined;
}

export function passObservations(
  plan: Pick<PassPlan, 'rollouts' | 'insert' | 'update'>,
  createdAtOf: (taskId: string) => number | undefined,
  now: number,
): PassObservations {
  const rollouts: { service: string; result: RolloutResult }[] = [];
  for (const write of plan.rollouts) {
    const result = resultOf(write.rollout.state);
    if (result) rollouts.push({ service: write.service, result });
  }
  const latencies: number[] = [];
  for (const task of plan.insert)
    if (task.nodeId !== null) latencies.push(Math.max(0, now - task.createdAt) / 1000);
  for (const change of plan.update) {
    if (!change.placement || change.placement.nodeId === null) continue;
    const createdAt = createdAtOf(change.id);
    if (createdAt !== undefined) latencies.push(Math.max(0, now - createdAt) / 1000);
  }
  return { rollouts, schedulingLatenciesS: latencies };
}
