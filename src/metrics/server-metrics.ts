/**
 * The server's metrics: a prom-client registry with the process's default metrics and the
 * instruments the server updates as things happen (API requests, controller passes, scheduling
 * latency, rollouts, leadership), and the families a scrape derives from cluster state
 * (cluster-families.ts), agents' counters (agent-counters.ts) and resource usage
 * (usage-families.ts). `render()` is the whole `/metrics` text.
 */
import client from 'prom-client';
import type { PassPlan } from '../server/plan-pass.ts';
import type { AgentSnapshot } from './agent-counters.ts';
import { AgentText } from './agent-text.ts';
import type { ClusterState } from './cluster-families.ts';
import { clusterFamilies } from './cluster-families.ts';
import { passObservations, ROLLOUT_RESULTS } from './pass-observations.ts';
import { renderFamilies } from './text-format.ts';
import type { UsageSource } from './usage-families.ts';
import { NO_USAGE, usageText } from './usage-families.ts';

/**
 * prom-client's default metrics include three gauges named `…_total` (the sums of their per-type
 * twins), which `promtool check metrics` rejects (prometheus/client_js#283): they are left out.
 */
export const DROPPED_DEFAULT_METRICS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

const API_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const PASS_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const SCHEDULING_BUCKETS_S = [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export interface ScrapeSources {
  /** The cluster as it is now (read at each scrape). */
  readonly cluster: () => ClusterState;
  /** Every node's latest agent counters. */
  readonly agents?: () => ReadonlyMap<string, AgentSnapshot>;
  readonly usage?: UsageSource;
}

export interface ServerMetricsOptions {
  /** The process's CPU, memory, event loop and GC (prom-client's defaults); on unless a test says. */
  readonly defaultMetrics?: boolean;
}

export class ServerMetrics {
  readonly registry = new client.Registry();
  readonly #apiRequests: client.Counter<'method' | 'route' | 'status'>;
  readonly #apiDuration: client.Histogram<'method' | 'route'>;
  readonly #passDuration: client.Histogram;
  readonly #schedulingLatency: client.Histogram;
  readonly #rollouts: client.Counter<'service' | 'result'>;
  readonly #leader: client.Gauge;
  readonly #scrapeDuration: client.Gauge;
  #rolloutServices = new Set<string>();
  #sources: ScrapeSources | undefined;
  /** The agents' text, kept per snapshot between scrapes. */
  readonly #agentText = new AgentText();

  constructor(options: ServerMetricsOptions = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics !== false) {
      client.collectDefaultMetrics({ register: this.registry });
      for (const name of DROPPED_DEFAULT_METRICS) this.registry.removeSingleMetric(name);
    }
    this.#apiRequests = new client.Counter({
      name: 'skiff_api_requests_total',
      help: 'API requests answered, by route pattern and status code.',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.#apiDuration = new client.Histogram({
      name: 'skiff_api_request_duration_seconds',
      help: 'Time to answer API requests (to the response headers for streams), by route pattern.',
      labelNames: ['method', 'route'],
      buckets: API_BUCKETS_S,
      registers,
    });
    this.#passDuration = new client.Histogram({
      name: 'skiff_controller_pass_duration_seconds',
      help: 'Duration of controller passes (snapshot, plan, apply).',
      buckets: PASS_BUCKETS_S,
      registers,
    });
    this.#schedulingLatency = new client.Histogram({
      name: 'skiff_scheduling_latency_seconds',
      help: 'Time from a replica being created to its placement on a node.',
      buckets: SCHEDULING_BUCKETS_S,
      registers,
    });
    this.#rollouts = new client.Counter({
      name: 'skiff_rollouts_total',
      help: 'Rollouts that ended, by result: succeeded, rolled_back (restored the previous revision), failed.',
      labelNames: ['service', 'result'],
      registers,
    });
    this.#leader = new client.Gauge({
      name: 'skiff_server_leader',
      help: 'Whether this server leads the control plane (1), or stands by (0).',
      registers,
    });
    this.#scrapeDuration = new client.Gauge({
      name: 'skiff_metrics_scrape_duration_seconds',
      help: 'How long the previous scrape of this endpoint took to render.',
      registers,
    });
    // One SQLite server is the only server: it leads (an HA server sets it as its elections go).
    this.#leader.set(1);
    this.#passDuration.zero({});
    this.#schedulingLatency.zero({});
  }

  /** Where a scrape reads the cluster from (the composition root sets it once it has them). */
  setSources(sources: ScrapeSources): void {
    this.#sources = sources;
  }

  /** A node's agent counters arrived (after `AgentSnapshots.record`): their text is built now. */
  agentSnapshotRecorded(nodeId: string, snapshot: AgentSnapshot): void {
    this.#agentText.prepare(nodeId, snapshot);
  }

  setLeader(leader: boolean): void {
    this.#leader.set(leader ? 1 : 0);
  }

  observeRequest(method: string, route: string, status: number, seconds: number): void {
    this.#apiRequests.inc({ method, route, status: String(status) });
    this.#apiDuration.observe({ method, route }, seconds);
  }

  observePassDuration(durationMs: number): void {
    this.#passDuration.observe(durationMs / 1000);
  }

  /** After a pass was applied: how rollouts ended and how long placed replicas waited. */
  observePlan(plan: PassPlan, createdAtOf: (taskId: string) => number | undefined, now: number): void {
    const observed = passObservations(plan, createdAtOf, now);
    for (const { service, result } of observed.rollouts) {
      this.#zeroRollouts(service);
      this.#rollouts.inc({ service, result });
    }
    for (const seconds of observed.schedulingLatenciesS) this.#schedulingLatency.observe(seconds);
  }

  /** Every service's rollout counters exist from zero; a deleted service's go with it. */
  #syncRolloutServices(services: readonly string[]): void {
    const now = new Set(services);
    for (const service of this.#rolloutServices) {
      if (now.has(service)) continue;
      for (const result of ROLLOUT_RESULTS) this.#rollouts.remove({ service, result });
      this.#rolloutServices.delete(service);
    }
    for (const service of services) this.#zeroRollouts(service);
  }

  #zeroRollouts(service: string): void {
    if (this.#rolloutServices.has(service)) return;
    this.#rolloutServices.add(service);
    for (const result of ROLLOUT_RESULTS) this.#rollouts.inc({ service, result }, 0);
  }

  /**
   * The whole exposition, in the text format, as UTF-8 bytes: most of it is kept already encoded
   * (agent-text.ts), and a string of 2 MB would be measured and encoded again by the response.
   */
  async render(): Promise<Buffer<ArrayBuffer>> {
    const startedAt = performance.now();
    const sources = this.#sources;
    const parts: Uint8Array[] = [];
    if (sources) {
      const cluster = sources.cluster();
      this.#syncRolloutServices(cluster.services.map((s) => s.spec.name));
      // The same text as renderFamilies of every family, the two big parts built without a value
      // per line: the agents' (kept per snapshot) and the usage of every replica.
      const usage = sources.usage ?? NO_USAGE;
      parts.push(
        Buffer.from(renderFamilies(clusterFamilies(cluster))),
        ...this.#agentText.render(sources.agents?.() ?? new Map()),
        ...(usage.textPieces?.() ?? [Buffer.from(usageText(usage))]),
      );
    }
    const own = Buffer.from(await this.registry.metrics());
    this.#scrapeDuration.set((performance.now() - startedAt) / 1000);
    return Buffer.concat([own, ...parts]) as Buffer<ArrayBuffer>;
  }
}
