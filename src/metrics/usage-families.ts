/**
 * Resource usage as metric families, in the style of cAdvisor's `container_*` and node_exporter's
 * `node_*`: cumulative CPU seconds and bytes as counters, memory and disk as gauges. The samples
 * are the agents' (src/stats keeps the latest of each replica and node); this file only names
 * them, behind `UsageSource` so the metrics do not depend on how the window is kept.
 */
import type { MetricFamily, Sample } from './text-format.ts';

export interface ReplicaUsage {
  readonly node: string;
  readonly service: string;
  /** The slot name (`api-server-0`). */
  readonly replica: string;
  /**
   * The container's short id: each container's counters are a series of their own (they restart
   * from zero with it), and during a rollout two containers of one slot may share a node.
   */
  readonly container: string;
  readonly cpuSeconds: number;
  readonly memoryWorkingSetBytes: number;
  readonly memoryLimitBytes: number | null;
  readonly networkRxBytes: number;
  readonly networkTxBytes: number;
  readonly blockReadBytes: number;
  readonly blockWriteBytes: number;
}

export interface NodeUsage {
  readonly node: string;
  readonly cpuSeconds: number;
  readonly cpuCount: number;
  readonly memoryUsedBytes: number;
  readonly memoryTotalBytes: number;
  readonly diskUsedBytes: number;
  readonly diskTotalBytes: number;
}

/** The latest sample of every replica and node that has one. */
export interface UsageSource {
  replicas(): Iterable<ReplicaUsage>;
  nodes(): Iterable<NodeUsage>;
}

type Field<T> = { readonly [K in keyof T]: T[K] extends number ? K : never }[keyof T];

export function usageFamilies(source: UsageSource): MetricFamily[] {
  const replicas = [...source.replicas()].sort((a, b) =>
    a.replica !== b.replica ? (a.replica < b.replica ? -1 : 1) : a.container < b.container ? -1 : 1,
  );
  const nodes = [...source.nodes()].sort((a, b) => (a.node < b.node ? -1 : 1));
  const labelsOf = (r: ReplicaUsage) => ({
    service: r.service,
    replica: r.replica,
    node: r.node,
    container: r.container,
  });
  const perReplica = (field: Field<ReplicaUsage>): Sample[] =>
    replicas.map((r) => ({
      labels: labelsOf(r),
      value: r[field],
    }));
  const perNode = (value: (n: NodeUsage) => number): Sample[] =>
    nodes.map((n) => ({ labels: { node: n.node }, value: value(n) }));
  const limits: Sample[] = [];
  for (const r of replicas)
    if (r.memoryLimitBytes !== null)
      limits.push({
        labels: labelsOf(r),
        value: r.memoryLimitBytes,
      });
  return [
    {
      name: 'skiff_container_cpu_usage_seconds_total',
      help: "CPU time the replica's container used, all cores (cAdvisor's container_cpu_usage_seconds_total).",
      type: 'counter',
      samples: perReplica('cpuSeconds'),
    },
    {
      name: 'skiff_container_memory_working_set_bytes',
      help: "Memory the replica's container uses, without inactive file cache (what the OOM killer weighs).",
      type: 'gauge',
      samples: perReplica('memoryWorkingSetBytes'),
    },
    {
      name: 'skiff_container_spec_memory_limit_bytes',
      help: "The replica's container memory limit (absent: none).",
      type: 'gauge',
      samples: limits,
    },
    {
      name: 'skiff_container_network_receive_bytes_total',
      help: "Bytes the replica's container received.",
      type: 'counter',
      samples: perReplica('networkRxBytes'),
    },
    {
      name: 'skiff_container_network_transmit_bytes_total',
      help: "Bytes the replica's container sent.",
      type: 'counter',
      samples: perReplica('networkTxBytes'),
    },
    {
      name: 'skiff_container_fs_reads_bytes_total',
      help: "Bytes the replica's container read from block devices.",
      type: 'counter',
      samples: perReplica('blockReadBytes'),
    },
    {
      name: 'skiff_container_fs_writes_bytes_total',
      help: "Bytes the replica's container wrote to block devices.",
      type: 'counter',
      samples: perReplica('blockWriteBytes'),
    },
    {
      name: 'skiff_node_cpu_usage_seconds_total',
      help: "Non-idle CPU time of the node's host since boot, all cores.",
      type: 'counter',
      samples: perNode((n) => n.cpuSeconds),
    },
    {
      name: 'skiff_node_cpu_count',
      help: "CPUs of the node's host.",
      type: 'gauge',
      samples: perNode((n) => n.cpuCount),
    },
    {
      name: 'skiff_node_memory_used_bytes',
      help: "Memory in use on the node's host (total minus available).",
      type: 'gauge',
      samples: perNode((n) => n.memoryUsedBytes),
    },
    {
      name: 'skiff_node_memory_total_bytes',
      help: "Memory of the node's host.",
      type: 'gauge',
      samples: perNode((n) => n.memoryTotalBytes),
    },
    {
      name: 'skiff_node_disk_used_bytes',
      help: "Bytes used on the filesystem of the node's container engine data.",
      type: 'gauge',
      samples: perNode((n) => n.diskUsedBytes),
    },
    {
      name: 'skiff_node_disk_total_bytes',
      help: "Size of the filesystem of the node's container engine data.",
      type: 'gauge',
      samples: perNode((n) => n.diskTotalBytes),
    },
  ];
}

export const NO_USAGE: UsageSource = { replicas: () => [], nodes: () => [] };
