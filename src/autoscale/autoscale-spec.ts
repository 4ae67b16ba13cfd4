/**
 * What an `autoscale` block needs of the rest of the spec, checked at deploy: a CPU target is a
 * share of the replica's CPU limit, so it needs `resources.cpus` (without one, a replica's usage
 * has no ceiling to be a share of); a memory target needs `resources.memory_mb`; a global service
 * has one replica per node and nothing to scale.
 */
import type { ServiceSpec } from '../model/service-spec.ts';

export function autoscaleProblems(spec: ServiceSpec): string[] {
  const policy = spec.autoscale;
  if (!policy) return [];
  const problems: string[] = [];
  if (spec.mode === 'global')
    problems.push('autoscale: a global service runs one replica per node; it cannot be autoscaled');
  if (policy.target_cpu_percent !== undefined && spec.resources.cpus === undefined)
    problems.push(
      'autoscale.target_cpu_percent: the service has no CPU limit (resources.cpus), so its usage cannot be a share of one; set resources.cpus',
    );
  if (policy.target_memory_percent !== undefined && spec.resources.memory_mb === undefined)
    problems.push(
      'autoscale.target_memory_percent: the service has no memory limit (resources.memory_mb); set one',
    );
  return problems;
}

/** A manual scale outside the autoscaler's range is refused, naming the range. */
export function scaleOutsideRange(spec: ServiceSpec, replicas: number): string | undefined {
  const policy = spec.autoscale;
  if (!policy || (replicas >= policy.min && replicas <= policy.max)) return undefined;
  return `replicas: ${spec.name} is autoscaled between ${policy.min} and ${policy.max}; ${replicas} is outside that range (change autoscale.min/max to go there)`;
}
