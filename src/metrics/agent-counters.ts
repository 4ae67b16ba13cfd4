/**
 * What agents count (exits, restarts, OOM kills, health probes, image pulls, proxied requests)
 * and how it reaches the server: each agent keeps a tally (`AgentTally`) and sends its snapshot,
 * cumulative since the agent started, in an `agent.metrics` message; the server keeps the latest
 * per node and renders them with a `node` label (`agentFamilies`), so one scrape of the server
 * covers every agent. An agent restart resets its counters, which Prometheus' rate() handles.
 */
import { z } from 'zod';
import type { HistogramSample, Labels, MetricFamily, Sample } from './text-format.ts';

/**
 * Health probes and proxied requests: milliseconds to seconds. Few buckets: each is a series per
 * service per node, and at 100 nodes they are most of a scrape.
 */
export const LATENCY_BOUNDS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5];
/** Image pulls: seconds to minutes. */
export const PULL_BOUNDS_S = [0.5, 1, 5, 10, 30, 60, 300];

interface CounterDef {
  readonly family: string;
  readonly help: string;
  /** The label keys besides `service` (and the server's `node`), with their known values. */
  readonly label: string;
  readonly values: readonly string[];
  /**
   * Which services of a node start it at zero: every one with replicas here (`replicas`), those
   * with a health check (`probed`), or those the proxy has served once (`proxied`: the proxy on
   * every host serves every http service, most never asked on most hosts).
   */
  readonly zeroFor: 'replicas' | 'probed' | 'proxied';
}

export const AGENT_COUNTERS = {
  exits: {
    family: 'skiff_replica_exits_total',
    help: 'Replica containers that stopped on their own, by how: completed (exit 0), error (other codes), oom_killed.',
    label: 'reason',
    values: ['completed', 'error', 'oom_killed'],
    zeroFor: 'replicas',
  },
  restarts: {
    family: 'skiff_replica_restarts_total',
    help: 'Replicas replaced by a fresh container in their slot, by the failure behind it.',
    label: 'reason',
    values: ['completed', 'error', 'oom_killed', 'unhealthy'],
    zeroFor: 'replicas',
  },
  oomKills: {
    family: 'skiff_replica_oom_kills_total',
    help: "Replica containers the kernel's OOM killer killed (the engine's oom events).",
    label: '',
    values: [],
    zeroFor: 'replicas',
  },
  probes: {
    family: 'skiff_health_probes_total',
    help: 'Health probes run by the agents, by result.',
    label: 'result',
    values: ['success', 'failure'],
    zeroFor: 'probed',
  },
  pulls: {
    family: 'skiff_image_pulls_total',
    help: 'Image pulls by the agents, by result.',
    label: 'result',
    values: ['success', 'failure'],
    zeroFor: 'replicas',
  },
  proxyRequests: {
    family: 'skiff_proxy_requests_total',
    help: "Requests through the agents' HTTP proxies (app_protocol: http), by status class (2xx..5xx, or error: no upstream answered).",
    label: 'code',
    values: ['2xx', '3xx', '4xx', '5xx', 'error'],
    zeroFor: 'proxied',
  },
} as const satisfies Record<string, CounterDef>;
export type AgentCounter = keyof typeof AGENT_COUNTERS;

interface HistogramDef {
  readonly family: string;
  readonly help: string;
  readonly bounds: readonly number[];
  /** As for counters; undefined: not before the first observation (image pulls are rare). */
  readonly zeroFor: CounterDef['zeroFor'] | undefined;
}

export const AGENT_HISTOGRAMS = {
  probeDuration: {
    family: 'skiff_health_probe_duration_seconds',
    help: 'How long health probes took.',
    bounds: LATENCY_BOUNDS_S,
    zeroFor: 'probed',
  },
  pullDuration: {
    family: 'skiff_image_pull_duration_seconds',
    help: 'How long image pulls took (failed ones included).',
    bounds: PULL_BOUNDS_S,
    zeroFor: undefined,
  },
  proxyDuration: {
    family: 'skiff_proxy_request_duration_seconds',
    help: "Time from a request's arrival at the agent's HTTP proxy until its answer was sent.",
    bounds: LATENCY_BOUNDS_S,
    zeroFor: 'proxied',
  },
} as const satisfies Record<string, HistogramDef>;
export type AgentHistogram = keyof typeof AGENT_HISTOGRAMS;

const labelText = z.string().max(253);
const count = z.number().min(0).max(Number.MAX_SAFE_INTEGER);

export const counterEntrySchema = z.object({
  name: z.enum(Object.keys(AGENT_COUNTERS) as [AgentCounter, ...AgentCounter[]]),
  service: labelText,
  /** The counter's own label value (reason, result, code); '' for a counter with none. */
  value: labelText,
  count,
});
export type CounterEntry = z.infer<typeof counterEntrySchema>;

export const histogramEntrySchema = z.object({
  name: z.enum(Object.keys(AGENT_HISTOGRAMS) as [AgentHistogram, ...AgentHistogram[]]),
  service: labelText,
  /** Per bucket, not cumulative, one past the bounds (+Inf). */
  counts: z.array(count).max(64),
  sum: z.number().min(0),
});
export type HistogramEntry = z.infer<typeof histogramEntrySchema>;

/** Far above one agent's services × label values; the bound on what one message costs the server. */
export const MAX_AGENT_METRIC_ENTRIES = 20_000;

/**
 * The message's envelope; its entries are read one by one (`readAgentSnapshot`), so an entry a
 * newer agent names differently is dropped, not a reason to close the link.
 */
export const agentMetricsMessageSchema = z.object({
  type: z.literal('agent.metrics'),
  counters: z.array(z.unknown()).max(MAX_AGENT_METRIC_ENTRIES),
  histograms: z.array(z.unknown()).max(MAX_AGENT_METRIC_ENTRIES),
});
export type AgentMetricsMessage = z.infer<typeof agentMetricsMessageSchema>;

export interface AgentSnapshot {
  readonly counters: readonly CounterEntry[];
  readonly histograms: readonly HistogramEntry[];
}

/**
 * Counter entries shared by every snapshot that holds the same one: at 1,000 nodes the server
 * keeps 100,000 entries (each node's services × label values), most of them the same zeros on
 * every node, and as an object each they were 6 MB of its heap. Entries are never changed once
 * read. Bounded: a full table starts again empty (what was shared stays shared).
 */
export class CounterInterner {
  readonly #limit: number;
  readonly #entries = new Map<string, CounterEntry>();

  constructor(limit = COUNTER_INTERN_LIMIT) {
    this.#limit = limit;
  }

  get size(): number {
    return this.#entries.size;
  }

  intern(entry: CounterEntry): CounterEntry {
    const key = `${entry.name}\u0000${entry.service}\u0000${entry.value}\u0000${entry.count}`;
    const known = this.#entries.get(key);
    if (known) return known;
    if (this.#entries.size >= this.#limit) this.#entries.clear();
    this.#entries.set(key, entry);
    return entry;
  }
}

/** Distinct entries shared at most: a few times one cluster's services × label values. */
export const COUNTER_INTERN_LIMIT = 50_000;

/** `interner`: where entries are shared with other snapshots (the gateway's); none: not shared. */
export function readAgentSnapshot(
  message: Pick<AgentMetricsMessage, 'counters' | 'histograms'>,
  interner?: CounterInterner,
): AgentSnapshot {
  const counters: CounterEntry[] = [];
  const histograms: HistogramEntry[] = [];
  for (const raw of message.counters) {
    const entry = readCounterEntry(raw);
    if (entry) counters.push(interner ? interner.intern(entry) : entry);
  }
  for (const raw of message.histograms) {
    const entry = readHistogramEntry(raw);
    if (entry && entry.counts.length === AGENT_HISTOGRAMS[entry.name].bounds.length + 1)
      histograms.push(entry);
  }
  return { counters, histograms };
}

/*
 * The entries read by hand, as their schemas read them (agent-counters.test.ts checks the two
 * agree on seeded random entries): 1,000 agents send one message every 5 s, each entry of each
 * through zod cost more than the rest of the message's handling.
 */

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isLabelText(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 253;
}

function isCount(value: unknown): value is number {
  return (
    typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= Number.MAX_SAFE_INTEGER
  );
}

/** `counterEntrySchema.safeParse(raw)`'s data, or undefined where it fails. */
export function readCounterEntry(raw: unknown): CounterEntry | undefined {
  if (!isRecord(raw)) return undefined;
  const { name, service, value, count } = raw;
  if (typeof name !== 'string' || !Object.hasOwn(AGENT_COUNTERS, name)) return undefined;
  if (!isLabelText(service) || !isLabelText(value) || !isCount(count)) return undefined;
  return { name: name as AgentCounter, service, value, count };
}

/** `histogramEntrySchema.safeParse(raw)`'s data, or undefined where it fails. */
export function readHistogramEntry(raw: unknown): HistogramEntry | undefined {
  if (!isRecord(raw)) return undefined;
  const { name, service, counts, sum } = raw;
  if (typeof name !== 'string' || !Object.hasOwn(AGENT_HISTOGRAMS, name) || !isLabelText(service))
    return undefined;
  if (!Array.isArray(counts) || counts.length > 64 || !counts.every(isCount)) return undefined;
  if (typeof sum !== 'number' || !Number.isFinite(sum) || sum < 0) return undefined;
  return { name: name as AgentHistogram, service, counts: [...counts], sum };
}

/** The agent's side: counts and latencies since the agent started. */
export class AgentTally {
  readonly #counters = new Map<string, CounterEntry>();
  readonly #histograms = new Map<
    string,
    { name: AgentHistogram; service: string; counts: number[]; sum: number }
  >();
  #zeroFor = { replicas: new Set<string>(), probed: new Set<string>(), proxied: new Set<string>() };

  /**
   * The services with replicas on this node now, and which of them have a health check: their
   * known label values are sent from zero.
   */
  setServices(services: Iterable<{ readonly service: string; readonly probed: boolean }>): void {
    const replicas = new Set<string>();
    const probed = new Set<string>();
    for (const { service, probed: checked } of services) {
      replicas.add(service);
      if (checked) probed.add(service);
    }
    this.#zeroFor = { ...this.#zeroFor, replicas, probed };
  }

  count(name: AgentCounter, service: string, value = '', by = 1): void {
    if (name === 'proxyRequests') this.#zeroFor.proxied.add(service);
    const key = `${name}\u0000${service}\u0000${value}`;
    const entry = this.#counters.get(key);
    this.#counters.set(key, { name, service, value, count: (entry?.count ?? 0) + by });
  }

  observe(name: AgentHistogram, service: string, seconds: number): void {
    if (name === 'proxyDuration') this.#zeroFor.proxied.add(service);
    const bounds = AGENT_HISTOGRAMS[name].bounds;
    const entry = this.#histogram(name, service);
    let i = bounds.findIndex((bound) => seconds <= bound);
    if (i === -1) i = bounds.length;
    entry.counts[i] = (entry.counts[i] ?? 0) + 1;
    entry.sum += seconds;
  }

  #histogram(name: AgentHistogram, service: string) {
    const key = `${name}\u0000${service}`;
    let entry = this.#histograms.get(key);
    if (!entry) {
      const buckets = AGENT_HISTOGRAMS[name].bounds.length + 1;
      entry = { name, service, counts: new Array<number>(buckets).fill(0), sum: 0 };
      this.#histograms.set(key, entry);
    }
    return entry;
  }

  snapshot(): AgentSnapshot {
    // Zeros for the services they concern, so a rate has a start before the first event.
    for (const [name, def] of Object.entries(AGENT_COUNTERS) as [AgentCounter, CounterDef][]) {
      for (const service of this.#zeroFor[def.zeroFor]) {
        for (const value of def.values.length === 0 ? [''] : def.values) {
          const key = `${name}\u0000${service}\u0000${value}`;
          if (!this.#counters.has(key)) this.#counters.set(key, { name, service, value, count: 0 });
        }
      }
    }
    for (const [name, def] of Object.entries(AGENT_HISTOGRAMS) as [AgentHistogram, HistogramDef][]) {
      if (def.zeroFor === undefined) continue;
      for (const service of this.#zeroFor[def.zeroFor]) this.#histogram(name, service);
    }
    return {
      counters: [...this.#counters.values()],
      histograms: [...this.#histograms.values()].map((h) => ({ ...h, counts: [...h.counts] })),
    };
  }
}

/** Every node's latest snapshot as families, each sample labelled with its node. */
export function agentFamilies(snapshots: ReadonlyMap<string, AgentSnapshot>): MetricFamily[] {
  const nodes = [...snapshots.keys()].sort();
  const families: MetricFamily[] = [];
  for (const [name, def] of Object.entries(AGENT_COUNTERS) as [AgentCounter, CounterDef][]) {
    const samples: Sample[] = [];
    for (const node of nodes) {
      const entries = (snapshots.get(node)?.counters ?? []).filter((c) => c.name === name);
      entries.sort((a, b) =>
        a.service < b.service ? -1 : a.service > b.service ? 1 : a.value < b.value ? -1 : 1,
      );
      for (const entry of entries) {
        const labels: Labels = def.label
          ? { service: entry.service, node, [def.label]: entry.value }
          : { service: entry.service, node };
        samples.push({ labels, value: entry.count });
      }
    }
    families.push({ name: def.family, help: def.help, type: 'counter', samples });
  }
  for (const [name, def] of Object.entries(AGENT_HISTOGRAMS) as [
    AgentHistogram,
    (typeof AGENT_HISTOGRAMS)[AgentHistogram],
  ][]) {
    const samples: HistogramSample[] = [];
    for (const node of nodes) {
      const entries = (snapshots.get(node)?.histograms ?? []).filter((h) => h.name === name);
      entries.sort((a, b) => (a.service < b.service ? -1 : 1));
      for (const entry of entries) {
        let total = 0;
        const buckets = def.bounds.map((bound, i): [number, number] => {
          total += entry.counts[i] ?? 0;
          return [bound, total];
        });
        total += entry.counts[def.bounds.length] ?? 0;
        samples.push({ labels: { service: entry.service, node }, buckets, sum: entry.sum, count: total });
      }
    }
    families.push({ name: def.family, help: def.help, type: 'histogram', samples });
  }
  return families;
}
