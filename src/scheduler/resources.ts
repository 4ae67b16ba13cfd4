/**
 * What a replica reserves on a node. Memory and `cpus` are hard limits and reservations;
 * `cpu_shares` is only a weight under contention, so it reserves nothing (the spec's own example,
 * 3 replicas at 1024 shares, must fit a 2-core machine).
 */
import type { Resources } from '../model/service-spec.ts';

export interface Demand {
  readonly cpuMillicores: number;
  readonly memoryBytes: number;
}

export function demandOf(resources: Resources): Demand {
  return {
    cpuMillicores: resources.cpus === undefined ? 0 : Math.round(resources.cpus * 1000),
    memoryBytes: resources.memory_mb === undefined ? 0 : resources.memory_mb * 1024 * 1024,
  };
}
