/**
 * Checks of a spec's volumes that look at more than one field, named by field as the schema's
 * errors are: a single-writer volume shared by every replica, a target mounted by both `volumes`
 * and the `tmpfs` shorthand.
 */
import type { ServiceSpec } from '../model/service-spec.ts';
import { overlappingTmpfsTarget, volumeReplicaProblem } from '../model/volume-spec.ts';

export function volumeProblems(spec: ServiceSpec, replicas = spec.replicas): string[] {
  const problems: string[] = [];
  const shared = volumeReplicaProblem(spec, replicas);
  if (shared) problems.push(`volumes.${shared.index}.source: ${shared.message}`);
  const overlap = overlappingTmpfsTarget(spec);
  if (overlap)
    problems.push(`volumes.${overlap.index}.target: ${overlap.target} is also a tmpfs target (tmpfs)`);
  return problems;
}
