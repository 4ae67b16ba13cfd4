/**
 * Resource usage as metric families, in the style of cAdvisor's `container_*` and node_exporter's
 * `node_*`: cumulative CPU seconds and bytes as counters, memory and disk as gauges. The samples
 * are the agents' (src/stats keeps the latest of each replica and node); this file only names
 * them, behind `UsageSource` so the metrics do not depend on how the window is kept. A scrape
 * renders them with `usageText`, straight to text (seven lines per replica, its labels written
 * once); `usageFamilies` gives the same as values, the reference the text is checked against.
 */
import type { MetricFamily, MetricType, Sample } from './text-format.ts';
import { familyHeader, formatValue, labelValue } from './text-format.ts';

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
  /**
   * The usage families' text, encoded, in pieces to concatenate, when the source keeps it per node
   * (stats-usage.ts); otherwise a scrape renders `usageText`.
   */
  textPieces?(): readonly Uint8Array[];
}

interface UsageFamilyDef<T> {
  readonly name: string;
  readonly help: string;
  readonly type: Extract<MetricType, 'counter' | 'gauge'>;
  /** null: no sample for this one (a replica without a memory limit). */
  readonly value: (usage: T) => number | null;
}

const REPLICA_FAMILIES: readonly UsageFamilyDef<ReplicaUsage>[] = [
  {
    name: 'skiff_container_cpu_usage_seconds_total',
    help: "CPU time the replica's container used, all cores (cAdvisor's container_cpu_usage_seconds_total).",
    type: 'counter',
    value: (r) => r.cpuSeconds,
  },
  {
    name: 'skiff_container_memory_working_set_bytes',
    help: "Memory the replica's container uses, without inactive file cache (what the OOM killer weighs).",
    type: 'gauge',
    value: (r) => r.memoryWorkingSetBytes,
  },
  {
    name: 'skiff_container_spec_memory_limit_bytes',
    help: "The replica's container memory limit (absent: none).",
    type: 'gauge',
    value: (r) => r.memoryLimitBytes,
  },
  {
    name: 'skiff_container_network_receive_bytes_total',
    help: "Bytes the replica's container received.",
    type: 'counter',
    value: (r) => r.networkRxBytes,
  },
  {
    name: 'skiff_container_network_transmit_bytes_total',
    help: "Bytes the replica's container sent.",
    type: 'counter',
    value: (r) => r.networkTxBytes,
  },
  {
    name: 'skiff_container_fs_reads_bytes_total',
    help: "Bytes the replica's container read from block devices.",
    type: 'counter',
    value: (r) => r.blockReadBytes,
  },
  {
    name: 'skiff_container_fs_writes_bytes_total',
    help: "Bytes the replica's container wrote to block devices.",
    type: 'counter',
    value: (r) => r.blockWriteBytes,
  },
];

const NODE_FAMILIES: readonly UsageFamilyDef<NodeUsage>[] = [
  {
    name: 'skiff_node_cpu_usage_seconds_total',
    help: "Non-idle CPU time of the node's host since boot, all cores.",
    type: 'counter',
    value: (n) => n.cpuSeconds,
  },
  // Not `_cpu_count`: promtool takes a `_count` suffix for a histogram's and refuses it on a gauge.
  { name: 'skiff_node_cpus', help: "CPUs of the node's host.", type: 'gauge', value: (n) => n.cpuCount },
  {
    name: 'skiff_node_memory_used_bytes',
    help: "Memory in use on the node's host (total minus available).",
    type: 'gauge',
    value: (n) => n.memoryUsedBytes,
  },
  {
    name: 'skiff_node_memory_total_bytes',
    help: "Memory of the node's host.",
    type: 'gauge',
    value: (n) => n.memoryTotalBytes,
  },
  {
    name: 'skiff_node_disk_used_bytes',
    help: "Bytes used on the filesystem of the node's container engine data.",
    type: 'gauge',
    value: (n) => n.diskUsedBytes,
  },
  {
    name: 'skiff_node_disk_total_bytes',
    help: "Size of the filesystem of the node's container engine data.",
    type: 'gauge',
    value: (n) => n.diskTotalBytes,
  },
];

const byReplica = (a: ReplicaUsage, b: ReplicaUsage) =>
  a.replica !== b.replica ? (a.replica < b.replica ? -1 : 1) : a.container < b.container ? -1 : 1;

/** Replicas by slot name, then container; nodes by name: the order of every usage family. */
function sorted(source: UsageSource): { replicas: ReplicaUsage[]; nodes: NodeUsage[] } {
  const replicas = [...source.replicas()].sort(byReplica);
  const nodes = [...source.nodes()].sort((a, b) => (a.node < b.node ? -1 : 1));
  return { replicas, nodes };
}

/** Each usage family's `# HELP`/`# TYPE` lines: the replicas' families, then the nodes'. */
export const USAGE_HEADERS: readonly string[] = [
  ...REPLICA_FAMILIES.map((def) => familyHeader(def.name, def.help, def.type)),
  ...NODE_FAMILIES.map((def) => familyHeader(def.name, def.help, def.type)),
];

const replicaLabelText = (r: ReplicaUsage) =>
  `{service="${labelValue(r.service)}",replica="${labelValue(r.replica)}",node="${labelValue(r.node)}",container="${labelValue(r.container)}"} `;

/**
 * One node's lines of each usage family (in `USAGE_HEADERS` order): its replicas' by slot name
 * then container, and its own. A scrape that joins the nodes' pieces under the headers has the
 * series of `usageFamilies`, grouped by node within each family.
 */
export function usageNodePieces(node: NodeUsage | undefined, replicas: readonly ReplicaUsage[]): string[] {
  const rows = [...replicas].sort(byReplica);
  const labels = rows.map(replicaLabelText);
  const pieces: string[] = [];
  for (const def of REPLICA_FAMILIES) {
    let text = '';
    for (const [i, row] of rows.entries()) {
      const value = def.value(row);
      if (value !== null) text += `${def.name}${labels[i]}${formatValue(value)}\n`;
    }
    pieces.push(text);
  }
  const nodeLabel = node === undefined ? '' : `{node="${labelValue(node.node)}"} `;
  for (const def of NODE_FAMILIES) {
    const value = node === undefined ? null : def.value(node);
    pieces.push(value === null ? '' : `${def.name}${nodeLabel}${formatValue(value)}\n`);
  }
  return pieces;
}

export function usageFamilies(source: UsageSource): MetricFamily[] {
  const { replicas, nodes } = sorted(source);
  const labelsOf = (r: ReplicaUsage) => ({
    service: r.service,
    replica: r.replica,
    node: r.node,
    container: r.container,
  });
  const familiesOf = <T>(
    defs: readonly UsageFamilyDef<T>[],
    rows: readonly T[],
    labels: (row: T) => Sample['labels'],
  ) =>
    defs.map((def): MetricFamily => {
      const samples: Sample[] = [];
      for (const row of rows) {
        const value = def.value(row);
        if (value !== null) samples.push({ labels: labels(row), value });
      }
      return { name: def.name, help: def.help, type: def.type, samples };
    });
  return [
    ...familiesOf(REPLICA_FAMILIES, replicas, labelsOf),
    ...familiesOf(NODE_FAMILIES, nodes, (n) => ({ node: n.node })),
  ];
}

/** The text `renderFamilies(usageFamilies(source))` gives, built without a value per line. */
export function usageText(source: UsageSource): string {
  const { replicas, nodes } = sorted(source);
  const replicaLabels = replicas.map(replicaLabelText);
  const nodeLabels = nodes.map((n) => `{node="${labelValue(n.node)}"} `);
  // One array joined once: a flat string (a rope of 7,000 `+=` would be flattened by the response).
  const lines: string[] = [];
  const linesOf = <T>(defs: readonly UsageFamilyDef<T>[], rows: readonly T[], labels: readonly string[]) => {
    for (const def of defs) {
      lines.push(familyHeader(def.name, def.help, def.type));
      for (const [i, row] of rows.entries()) {
        const value = def.value(row);
        if (value !== null) lines.push(`${def.name}${labels[i]}${formatValue(value)}\n`);
      }
    }
  };
  linesOf(REPLICA_FAMILIES, replicas, replicaLabels);
  linesOf(NODE_FAMILIES, nodes, nodeLabels);
  return lines.join('');
}

export const NO_USAGE: UsageSource = { replicas: () => [], nodes: () => [] };
