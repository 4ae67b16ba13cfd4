/**
 * Resource usage from the Docker Engine API: one `GET /containers/{id}/stats?stream=false&one-shot=true`
 * per container per interval, checked against a schema here. The engine answers such a request
 * from its stats collector's next tick (once a second; without one-shot it waits for two ticks),
 * so a request takes up to a second of waiting but little work, and requests in flight together
 * are answered by the same tick: the sampler sends a round's requests all at once. Why one-shot
 * and not a stream per container or the cgroup files: bench/stats.ts measured all three
 * (src/agent/README.md has the figures). The host's own usage comes from /proc and the engine's
 * data root (`stats-node-usage.ts`).
 */
import { readFileSync } from 'node:fs';
import Docker from 'dockerode';
import { z } from 'zod';
import { dockerOptionsFor } from '../docker/engine-address.ts';
import { CgroupUsageSource } from './stats-cgroup-usage.ts';
import { readNodeUsage } from './stats-node-usage.ts';
import type { ContainerUsage, NodeUsage, UsageSource } from './stats-usage.ts';

const counter = z.number().min(0).catch(0);

/** The fields of Docker's stats JSON this reads (cgroup v1 and v2 both); the rest is ignored. */
export const dockerStatsSchema = z.object({
  read: z.string(),
  pids_stats: z.object({ current: z.number().optional() }).optional(),
  blkio_stats: z
    .object({
      io_service_bytes_recursive: z
        .array(z.object({ op: z.string(), value: z.number() }))
        .nullable()
        .optional(),
    })
    .optional(),
  cpu_stats: z.object({ cpu_usage: z.object({ total_usage: counter }) }),
  memory_stats: z
    .object({
      usage: counter.optional(),
      limit: counter.optional(),
      stats: z.record(z.string(), z.number()).optional(),
    })
    .optional(),
  networks: z.record(z.string(), z.object({ rx_bytes: counter, tx_bytes: counter })).optional(),
});
export type DockerStats = z.infer<typeof dockerStatsSchema>;

/**
 * Docker's stats as usage. Working set = usage − inactive file cache, as cAdvisor and kubectl
 * count it (`docker stats` subtracts the same since 20.10): `total_inactive_file` on cgroup v1,
 * `inactive_file` on v2. A limit at or above the host's memory is the engine's stand-in for none.
 */
export function usageFromDockerStats(
  stats: DockerStats,
  hostMemoryBytes: number,
  fallbackAtMs: number,
): ContainerUsage {
  const memory = stats.memory_stats ?? {};
  const inactiveFile = memory.stats?.total_inactive_file ?? memory.stats?.inactive_file ?? 0;
  const usage = memory.usage ?? 0;
  const limit = memory.limit ?? 0;
  let blockReadBytes = 0;
  let blockWriteBytes = 0;
  for (const entry of stats.blkio_stats?.io_service_bytes_recursive ?? []) {
    const op = entry.op.toLowerCase();
    if (op === 'read') blockReadBytes += entry.value;
    else if (op === 'write') blockWriteBytes += entry.value;
  }
  let networkRxBytes = 0;
  let networkTxBytes = 0;
  for (const network of Object.values(stats.networks ?? {})) {
    networkRxBytes += network.rx_bytes;
    networkTxBytes += network.tx_bytes;
  }
  const readAtMs = Date.parse(stats.read);
  return {
    // The engine's own reading time; a zero time (a container that stopped meanwhile) is not one.
    atMs: Number.isFinite(readAtMs) && readAtMs > 0 ? readAtMs : fallbackAtMs,
    cpuSeconds: stats.cpu_stats.cpu_usage.total_usage / 1e9,
    memoryWorkingSetBytes: Math.max(0, usage - inactiveFile),
    memoryLimitBytes: limit > 0 && (hostMemoryBytes <= 0 || limit < hostMemoryBytes) ? limit : null,
    networkRxBytes,
    networkTxBytes,
    blockReadBytes,
    blockWriteBytes,
    pids: stats.pids_stats?.current ?? null,
  };
}

export class DockerUsageSource implements UsageSource {
  readonly #docker: Docker;
  readonly #now: () => number;
  /** The engine's data root and the host's memory, asked once. */
  #engine: Promise<{ dataRoot: string; memoryBytes: number }> | undefined;

  /** `host` as `DockerEngine` takes it (engine-address.ts). */
  constructor(host?: string, now: () => number = Date.now) {
    const options = dockerOptionsFor(host, { env: process.env, readFile: (path) => readFileSync(path) });
    this.#docker = options === undefined ? new Docker() : new Docker(options);
    this.#now = now;
  }

  async container(id: string): Promise<ContainerUsage | undefined> {
    const { memoryBytes } = await this.#engineInfo();
    let raw: unknown;
    try {
      raw = await this.#docker
        .getContainer(id)
        .stats({ stream: false, 'one-shot': true } as { stream: false });
    } catch {
      // Gone since the list (removed, or stopped and pruned): nothing to say about it.
      return undefined;
    }
    const parsed = dockerStatsSchema.safeParse(raw);
    if (!parsed.success) return undefined;
    // A stopped container answers with zeros: no reading.
    if (parsed.data.read.startsWith('0001-')) return undefined;
    return usageFromDockerStats(parsed.data, memoryBytes, this.#now());
  }

  /** A running container's main PID; undefined when it has none (stopped) or is gone. */
  async pidOf(id: string): Promise<number | undefined> {
    const inspect = z
      .object({ State: z.object({ Pid: z.number(), Running: z.boolean() }) })
      .safeParse(await this.#docker.getContainer(id).inspect());
    return inspect.success && inspect.data.State.Running && inspect.data.State.Pid > 0
      ? inspect.data.State.Pid
      : undefined;
  }

  async hostMemoryBytes(): Promise<number> {
    return (await this.#engineInfo()).memoryBytes;
  }

  async node(): Promise<NodeUsage> {
    const { dataRoot } = await this.#engineInfo();
    return readNodeUsage(dataRoot, this.#now());
  }

  #engineInfo(): Promise<{ dataRoot: string; memoryBytes: number }> {
    this.#engine ??= this.#docker.info().then(
      (info: { DockerRootDir?: string; MemTotal?: number }) => ({
        dataRoot: typeof info.DockerRootDir === 'string' ? info.DockerRootDir : '/',
        memoryBytes: typeof info.MemTotal === 'number' ? info.MemTotal : 0,
      }),
      (error: unknown) => {
        this.#engine = undefined;
        throw error;
      },
    );
    return this.#engine;
  }
}

/** Whether the engine at `host` (or DOCKER_HOST) is on this machine, behind a unix socket. */
export function isLocalEngine(
  host: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): boolean {
  const address = host?.trim() || env.DOCKER_HOST?.trim() || '';
  return address === '' || address.startsWith('unix://');
}

/**
 * The agent's usage source: for a local engine the kernel's files first (the cheapest by far;
 * the engine for whatever they cannot tell), for a remote one the engine's one-shot stats.
 */
export function usageSourceFor(host: string | undefined, env = process.env): UsageSource {
  const engine = new DockerUsageSource(host);
  if (!isLocalEngine(host, env)) return engine;
  return new CgroupUsageSource({
    fallback: engine,
    pidOf: (id) => engine.pidOf(id),
    hostMemoryBytes: () => engine.hostMemoryBytes(),
  });
}
