/**
 * A ContainerEngine with no Docker behind it, for simulated agents and the cluster simulator:
 * "containers" are records that start at once or after a configurable delay, carry their labels
 * and report state through `listManaged` and `watchEvents` (create, start, die, stop, destroy)
 * the way the Docker engine does. Time and randomness are injected, so with a VirtualClock and
 * a seed every run is the same. Controls for scenarios: kill a container (a crash or an OOM
 * kill), make its health check fail, take the whole engine away.
 */
import { createHash } from 'node:crypto';

import type {
  ContainerDefinition,
  ContainerEngine,
  ContainerState,
  EngineEvent,
  EngineInfo,
  ExecSession,
  LogEntry,
  ManagedContainer,
  ManagedVolume,
  NetworkDefinition,
  VolumeDefinition,
} from '../docker/container-engine.ts';
import { EngineError, LABELS } from '../docker/container-engine.ts';
import type {
  DataRootUsage,
  EngineImage,
  ImageEngine,
  ImageRemoval,
  ImageUser,
} from '../docker/image-engine.ts';
import type { LogRequest } from '../protocol/messages.ts';
import type { SimClock } from './clock.ts';
import { systemClock } from './clock.ts';
import type { Random } from './random.ts';
import { hexId, seededRandom } from './random.ts';

/** A fixed delay, or one drawn uniformly from [minMs, maxMs] for each operation. */
export type DelayMs = number | { readonly minMs: number; readonly maxMs: number };

export interface FakeEngineOptions {
  readonly clock?: SimClock;
  readonly random?: Random;
  readonly info?: Partial<EngineInfo>;
  /** From `startContainer` to the container running. */
  readonly startDelayMs?: DelayMs;
  /** From SIGTERM to exit, for a container that honours SIGTERM. */
  readonly stopDelayMs?: DelayMs;
  /** Containers exit only when SIGKILLed at the end of their grace period (code 137). */
  readonly ignoresSigterm?: boolean;
  /** Images present at start; absent means every image is present (nothing is ever pulled). */
  readonly images?: readonly string[];
  readonly pullDelayMs?: DelayMs;
  /** References whose pull fails (a closed registry). */
  readonly unpullable?: (ref: string) => boolean;
  /** Each image's size as listed (default 50 MB). */
  readonly imageSizeBytes?: (ref: string) => number;
}

interface FakeContainer {
  readonly id: string;
  readonly name: string;
  readonly image: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly stopTimeoutS: number;
  /** container port/protocol → requested host port (0: the engine picks one at start). */
  readonly bindings: readonly { container_port: number; protocol: 'tcp' | 'udp'; requested: number }[];
  readonly ip: string;
  /** The networks it is attached to, by name. */
  readonly networks: readonly string[];
  state: ContainerState;
  exitCode: number | null;
  oomKilled: boolean;
  startedAt: number | null;
  readonly createdAt: number;
  ports: ManagedContainer['ports'];
  healthy: boolean;
  /** Bumped on every state change, so a delayed start or stop knows it was overtaken. */
  epoch: number;
}

/** A container as the fake engine holds it, for assertions and invariant checks. */
export interface FakeContainerSnapshot {
  readonly id: string;
  readonly name: string;
  readonly taskId: string | undefined;
  readonly service: string | undefined;
  readonly slot: number | undefined;
  readonly state: ContainerState;
  readonly exitCode: number | null;
}

interface Watcher {
  readonly clusterId: string;
  readonly onEvent: (event: EngineEvent) => void;
  readonly end: () => void;
}

/** The first host port the engine hands out for an unbound `HostPort: ''`. */
const FIRST_DYNAMIC_PORT = 32768;

/** A fake image's id: the same reference gives the same id on every fake engine. */
export function fakeImageId(ref: string): string {
  return `sha256:${createHash('sha256').update(ref).digest('hex')}`;
}

export class FakeEngine implements ContainerEngine, ImageEngine {
  readonly #clock: SimClock;
  readonly #random: Random;
  readonly #options: FakeEngineOptions;
  readonly #info: EngineInfo;
  readonly #containers = new Map<string, FakeContainer>();
  readonly #images: Set<string> | undefined;
  readonly #networks = new Map<string, NetworkDefinition>();
  readonly #volumes = new Map<string, ManagedVolume & { readonly clusterId: string }>();
  readonly #watchers = new Set<Watcher>();
  /** Addresses handed out per network, for container IPs. */
  readonly #nextAddress = new Map<string, number>();
  #nextPort = FIRST_DYNAMIC_PORT;
  #available = true;
  /** Engine calls by method name, for tests and benches. */
  readonly calls = new Map<string, number>();

  constructor(options: FakeEngineOptions = {}) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? seededRandom(1);
    this.#images = options.images === undefined ? undefined : new Set(options.images);
    this.#info = {
      id: options.info?.id ?? hexId(this.#random, 12).toUpperCase(),
      name: options.info?.name ?? 'fake-engine',
      cpuMillicores: options.info?.cpuMillicores ?? 4000,
      memoryBytes: options.info?.memoryBytes ?? 8 * 1024 ** 3,
      version: options.info?.version ?? 'fake-1',
    };
  }

  // --- the ContainerEngine port ---

  async info(): Promise<EngineInfo> {
    this.#call('info');
    return { ...this.#info };
  }

  async listManaged(clusterId: string): Promise<ManagedContainer[]> {
    this.#call('listManaged');
    const list: ManagedContainer[] = [];
    for (const c of this.#containers.values()) {
      if (c.labels[LABELS.cluster] !== clusterId) continue;
      const taskId = c.labels[LABELS.task];
      const service = c.labels[LABELS.service];
      if (!taskId || !service) continue;
      list.push({
        id: c.id,
        name: c.name,
        taskId,
        service,
        slot: Number(c.labels[LABELS.slot] ?? 0),
        revision: Number(c.labels[LABELS.revision] ?? 0),
        state: c.state,
        // Docker's list has no exit code; the real engine inspects only what is not running.
        exitCode: c.state === 'running' ? null : c.exitCode,
        oomKilled: c.state === 'running' ? false : c.oomKilled,
        startedAt: c.state === 'running' ? null : c.startedAt,
        createdAt: c.createdAt,
        ports: [...c.ports],
        ip: c.state === 'running' ? c.ip : null,
        ...(c.labels[LABELS.prepared] === 'true' ? { prepared: true } : {}),
      });
    }
    return list;
  }

  async hasImage(ref: string): Promise<boolean> {
    this.#call('hasImage');
    return this.#images === undefined || this.#images.has(ref);
  }

  async imageExposedPorts(_ref: string): Promise<string[]> {
    this.#call('imageExposedPorts');
    return [];
  }

  async pullImage(ref: string): Promise<void> {
    this.#call('pullImage');
    await this.#wait(this.#options.pullDelayMs);
    this.#check();
    if (this.#options.unpullable?.(ref)) {
      throw new EngineError(`pull ${ref}: connection refused (fake registry)`, undefined);
    }
    this.#images?.add(ref);
  }

  // --- the ImageEngine port: the images present (or, with every image present, those in use) ---

  async listImages(): Promise<EngineImage[]> {
    this.#call('listImages');
    const refs = this.#images ?? new Set([...this.#containers.values()].map((c) => c.image));
    return [...refs].sort().map((ref) => ({
      id: fakeImageId(ref),
      repoTags: [ref],
      repoDigests: [],
      sizeBytes: this.#options.imageSizeBytes?.(ref) ?? 50 * 1024 * 1024,
      createdAt: 0,
    }));
  }

  async imageUsers(): Promise<ImageUser[]> {
    this.#call('imageUsers');
    return [...this.#containers.values()].map((c) => ({
      containerName: c.name,
      imageId: fakeImageId(c.image),
    }));
  }

  async imageId(ref: string): Promise<string | undefined> {
    return (await this.hasImage(ref)) ? fakeImageId(ref) : undefined;
  }

  async removeImage(ref: string): Promise<ImageRemoval> {
    this.#call('removeImage');
    const found = [...(this.#images ?? [])].find((image) => image === ref || fakeImageId(image) === ref);
    if (found === undefined || !this.#images) return 'gone';
    if ([...this.#containers.values()].some((c) => c.image === found)) return 'conflict';
    this.#images.delete(found);
    return 'removed';
  }

  async dataRootUsage(): Promise<DataRootUsage> {
    return { path: '/fake', usedBytes: 0, totalBytes: 100 * 1024 ** 3 };
  }

  async ensureNetwork(network: NetworkDefinition): Promise<void> {
    this.#call('ensureNetwork');
    this.#networks.set(network.name, network);
  }

  async execSession(): Promise<ExecSession> {
    this.#call('execSession');
    throw new EngineError('exec: the simulated engine runs no commands', undefined);
  }

  async listNetworks(clusterId: string): Promise<string[]> {
    this.#call('listNetworks');
    return [...this.#networks.values()].filter((n) => n.clusterId === clusterId).map((n) => n.name);
  }

  async removeNetwork(name: string): Promise<boolean> {
    this.#call('removeNetwork');
    const inUse = [...this.#containers.values()].some((c) => c.networks.includes(name));
    return inUse ? false : this.#networks.delete(name);
  }

  async ensureVolume(volume: VolumeDefinition): Promise<boolean> {
    this.#call('ensureVolume');
    if (this.#volumes.has(volume.name)) return false;
    this.#volumes.set(volume.name, {
      name: volume.name,
      service: volume.service,
      slot: volume.slot,
      createdAt: this.#clock.now(),
      clusterId: volume.clusterId,
    });
    return true;
  }

  async listVolumes(clusterId: string): Promise<ManagedVolume[]> {
    this.#call('listVolumes');
    return [...this.#volumes.values()]
      .filter((v) => v.clusterId === clusterId)
      .map(({ clusterId: _, ...volume }) => volume);
  }

  async removeVolume(name: string): Promise<boolean> {
    this.#call('removeVolume');
    return this.#volumes.delete(name);
  }

  async createContainer(definition: ContainerDefinition): Promise<string> {
    this.#call('createContainer');
    for (const c of this.#containers.values()) {
      if (c.name === definition.name) {
        throw new EngineError(
          `create ${definition.name}: Conflict. The container name is already in use`,
          409,
        );
      }
    }
    if (this.#images !== undefined && !this.#images.has(definition.image)) {
      throw new EngineError(`create ${definition.name}: No such image: ${definition.image}`, 404);
    }
    const body = definition.body;
    const labels = stringRecord(body.Labels);
    const hostConfig = (body.HostConfig ?? {}) as { PortBindings?: Record<string, { HostPort?: string }[]> };
    const bindings = Object.entries(hostConfig.PortBindings ?? {}).map(([key, binding]) => {
      const [port, protocol] = key.split('/');
      return {
        container_port: Number(port),
        protocol: protocol === 'udp' ? ('udp' as const) : ('tcp' as const),
        requested: Number(binding[0]?.HostPort || 0),
      };
    });
    const id = hexId(this.#random);
    this.#containers.set(id, {
      id,
      name: definition.name,
      image: definition.image,
      labels,
      stopTimeoutS: typeof body.StopTimeout === 'number' ? body.StopTimeout : 10,
      bindings,
      ip: this.#address(definition.networks[0]),
      networks: definition.networks.map((n) => n.name),
      state: 'created',
      exitCode: null,
      oomKilled: false,
      startedAt: null,
      createdAt: this.#clock.now(),
      ports: [],
      healthy: true,
      epoch: 0,
    });
    this.#emit(id, 'create', null);
    return id;
  }

  async startContainer(id: string): Promise<void> {
    this.#call('startContainer');
    const container = this.#get(id, 'start');
    if (container.state === 'running') return;
    const epoch = ++container.epoch;
    await this.#wait(this.#options.startDelayMs);
    this.#check();
    if (this.#containers.get(id) !== container || container.epoch !== epoch) {
      throw new EngineError(`start ${id.slice(0, 12)}: the container was removed or changed meanwhile`, 404);
    }
    const ports = this.#bindPorts(container);
    container.ports = ports;
    container.state = 'running';
    container.exitCode = null;
    container.oomKilled = false;
    container.startedAt = this.#clock.now();
    container.epoch++;
    this.#emit(id, 'start', null);
  }

  async stopContainer(id: string, graceSeconds?: number): Promise<void> {
    this.#call('stopContainer');
    const container = this.#containers.get(id);
    if (container?.state !== 'running') return;
    const epoch = container.epoch;
    const graceMs = (graceSeconds ?? container.stopTimeoutS) * 1000;
    if (this.#options.ignoresSigterm) await this.#wait(graceMs);
    else await this.#wait(this.#options.stopDelayMs);
    // Killed or removed meanwhile: already stopped, which is what was asked.
    if (container.epoch !== epoch || container.state !== 'running') return;
    this.#exit(container, this.#options.ignoresSigterm ? 137 : 0, false);
    this.#emit(id, 'stop', null);
  }

  async removeContainer(id: string): Promise<void> {
    this.#call('removeContainer');
    this.#check();
    const container = this.#containers.get(id);
    if (!container) return;
    if (container.state === 'running') this.#exit(container, 137, false);
    container.epoch++;
    this.#containers.delete(id);
    this.#emit(id, 'destroy', null, container);
  }

  watchEvents(clusterId: string, onEvent: (event: EngineEvent) => void, signal: AbortSignal): Promise<void> {
    this.#call('watchEvents');
    if (!this.#available) return Promise.reject(unavailable());
    return new Promise<void>((resolve) => {
      const watcher: Watcher = {
        clusterId,
        onEvent,
        end: () => {
          this.#watchers.delete(watcher);
          signal.removeEventListener('abort', watcher.end);
          resolve();
        },
      };
      if (signal.aborted) return resolve();
      this.#watchers.add(watcher);
      signal.addEventListener('abort', watcher.end, { once: true });
    });
  }

  async exec(
    id: string,
    _command: readonly string[],
    _timeoutMs: number,
  ): Promise<{ exitCode: number; output: string }> {
    this.#call('exec');
    const container = this.#get(id, 'exec in');
    if (container.state !== 'running') {
      throw new EngineError(`exec in ${id.slice(0, 12)}: container is not running`, 409);
    }
    return container.healthy ? { exitCode: 0, output: '' } : { exitCode: 1, output: 'unhealthy (fake)' };
  }

  async streamLogs(
    id: string,
    request: LogRequest,
    onEntries: (entries: LogEntry[]) => void,
    signal: AbortSignal,
  ): Promise<void> {
    this.#call('streamLogs');
    const container = this.#get(id, 'logs');
    onEntries([
      { at: new Date(this.#clock.now()).toISOString(), stream: 'stdout', text: `${container.name} (fake)` },
    ]);
    if (!request.follow || signal.aborted) return;
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  }

  // --- controls for scenarios ---

  /** The container dies as if its process exited (137: SIGKILL), or was OOM killed. */
  kill(id: string, { exitCode = 137, oom = false }: { exitCode?: number; oom?: boolean } = {}): boolean {
    const container = this.#containers.get(id);
    if (container?.state !== 'running') return false;
    if (oom) this.#emit(id, 'oom', null);
    this.#exit(container, exitCode, oom);
    return true;
  }

  /** Makes exec health checks of this container pass or fail. */
  setHealthy(id: string, healthy: boolean): void {
    const container = this.#containers.get(id);
    if (container) container.healthy = healthy;
  }

  /** An engine that is away rejects every call and ends its event streams; back, it works again. */
  setAvailable(available: boolean): void {
    this.#available = available;
    if (!available) for (const watcher of [...this.#watchers]) watcher.end();
  }

  /** Ends every event stream (an engine restart), without taking the engine away. */
  endEventStreams(): void {
    for (const watcher of [...this.#watchers]) watcher.end();
  }

  /** The containers as the engine holds them (every cluster), for assertions. */
  snapshot(): FakeContainerSnapshot[] {
    return [...this.#containers.values()].map((c) => ({
      id: c.id,
      name: c.name,
      taskId: c.labels[LABELS.task],
      service: c.labels[LABELS.service],
      slot: c.labels[LABELS.slot] === undefined ? undefined : Number(c.labels[LABELS.slot]),
      state: c.state,
      exitCode: c.exitCode,
    }));
  }

  /**
   * Adds `service/slot` of each running container to `slots`: what the bench's fleet counts
   * every 25 ms over 10,000 containers, on the event loop its agents need, so without the copies
   * `snapshot` makes.
   */
  addRunningSlots(slots: Set<string>): void {
    for (const c of this.#containers.values())
      if (c.state === 'running') slots.add(`${c.labels[LABELS.service]}/${c.labels[LABELS.slot]}`);
  }

  /** Ids of running containers, in creation order. */
  runningIds(): string[] {
    return [...this.#containers.values()].filter((c) => c.state === 'running').map((c) => c.id);
  }

  // --- internals ---

  #exit(container: FakeContainer, exitCode: number, oom: boolean): void {
    container.state = 'exited';
    container.exitCode = exitCode;
    container.oomKilled = oom;
    container.ports = [];
    container.epoch++;
    this.#emit(container.id, 'die', exitCode);
  }

  #bindPorts(container: FakeContainer): ManagedContainer['ports'] {
    const taken = new Set<string>();
    for (const other of this.#containers.values()) {
      if (other.state !== 'running') continue;
      for (const p of other.ports) taken.add(`${p.host_port}/${p.protocol}`);
    }
    return container.bindings.map((binding) => {
      if (binding.requested > 0 && taken.has(`${binding.requested}/${binding.protocol}`)) {
        throw new EngineError(
          `start ${container.id.slice(0, 12)}: Bind for 0.0.0.0:${binding.requested} failed: port is already allocated`,
          500,
        );
      }
      const host_port = binding.requested > 0 ? binding.requested : this.#nextPort++;
      return { container_port: binding.container_port, host_port, protocol: binding.protocol };
    });
  }

  #address(network: NetworkDefinition | undefined): string {
    if (!network) return '10.255.255.254';
    const base = ip4ToNumber(network.ipRange.split('/')[0] ?? '10.240.0.0');
    const next = this.#nextAddress.get(network.name) ?? 2;
    this.#nextAddress.set(network.name, next + 1);
    return numberToIp4(base + next);
  }

  #emit(id: string, action: string, exitCode: number | null, known?: FakeContainer): void {
    const container = known ?? this.#containers.get(id);
    if (!container) return;
    const clusterId = container.labels[LABELS.cluster];
    const event: EngineEvent = { action, containerId: id, taskId: container.labels[LABELS.task], exitCode };
    // Delivered after the call that caused it returns, as the engine's stream delivers them.
    queueMicrotask(() => {
      for (const watcher of this.#watchers) if (watcher.clusterId === clusterId) watcher.onEvent(event);
    });
  }

  #get(id: string, what: string): FakeContainer {
    this.#check();
    const container = this.#containers.get(id);
    if (!container) throw new EngineError(`${what} ${id.slice(0, 12)}: No such container`, 404);
    return container;
  }

  #call(method: string): void {
    this.calls.set(method, (this.calls.get(method) ?? 0) + 1);
    this.#check();
  }

  #check(): void {
    if (!this.#available) throw unavailable();
  }

  async #wait(delay: DelayMs | undefined): Promise<void> {
    const ms = delayOf(delay, this.#random);
    if (ms <= 0) return;
    await new Promise<void>((resolve) => this.#clock.setTimeout(resolve, ms));
  }
}

function delayOf(delay: DelayMs | undefined, random: Random): number {
  if (delay === undefined) return 0;
  if (typeof delay === 'number') return delay;
  return delay.minMs + random() * (delay.maxMs - delay.minMs);
}

function unavailable(): EngineError {
  return new EngineError('connect ECONNREFUSED (the fake engine is unavailable)', undefined);
}

function stringRecord(value: unknown): Record<string, string> {
  const record: Record<string, string> = {};
  if (typeof value !== 'object' || value === null) return record;
  for (const [key, v] of Object.entries(value)) if (typeof v === 'string') record[key] = v;
  return record;
}

function ip4ToNumber(address: string): number {
  return address.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

function numberToIp4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}
