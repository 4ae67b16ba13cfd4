/**
 * The port through which an agent drives its container engine. The Docker implementation sits
 * beside it (`docker-engine.ts`); pure cores see only these shapes.
 */
import type { LogRequest } from '../protocol/messages.ts';

export const LABELS = {
  cluster: 'skiff.cluster',
  service: 'skiff.service',
  task: 'skiff.task',
  slot: 'skiff.slot',
  revision: 'skiff.revision',
  /**
   * On a container: the named volumes it mounts, `name` or `name:shared`, comma-separated (the
   * converger holds a single-writer volume's next replica until no other container has it).
   */
  volumes: 'skiff.volumes',
  /**
   * On a container made ahead of a failover (agent/prepared-replicas.ts): created, not started,
   * for a task that may be assigned here. The converger sees it only once its task is assigned.
   */
  prepared: 'skiff.prepared',
  /** On a volume: the resolved name's source as the spec gave it (`data-{{.Task.Slot}}`). */
  volumeSource: 'skiff.volume.source',
} as const;

/** `data-0,cache:shared` → the volumes a container's label names. */
export function parseVolumesLabel(text: string | undefined): { name: string; shared: boolean }[] {
  if (!text) return [];
  return text
    .split(',')
    .filter((entry) => entry !== '')
    .map((entry) => ({ name: entry.replace(/:shared$/, ''), shared: entry.endsWith(':shared') }));
}

/** A Skiff volume on this engine (labelled with the cluster, service and slot that made it). */
export interface ManagedVolume {
  readonly name: string;
  readonly service: string;
  readonly slot: number | null;
  /** Epoch ms; null when the engine does not say. */
  readonly createdAt: number | null;
}

/** What a volume to create is: its name and the replica it was made for. */
export interface VolumeDefinition {
  readonly name: string;
  readonly clusterId: string;
  readonly service: string;
  readonly slot: number;
  readonly source: string;
}

export type ContainerState = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

/** A container that carries Skiff's labels: the agent's source of truth about what runs. */
export interface ManagedContainer {
  readonly id: string;
  readonly name: string;
  readonly taskId: string;
  readonly service: string;
  readonly slot: number;
  readonly revision: number;
  readonly state: ContainerState;
  readonly exitCode: number | null;
  readonly oomKilled: boolean;
  /** Epoch ms; null when never started. */
  readonly startedAt: number | null;
  /** Epoch ms (the engine keeps whole seconds): which of a task's containers is the newest. */
  readonly createdAt: number;
  readonly ports: readonly { container_port: number; host_port: number; protocol: 'tcp' | 'udp' }[];
  /** The container's address on its (first) network, where the agent probes it. */
  readonly ip: string | null;
  /** The named volumes it mounts (from its `skiff.volumes` label). */
  readonly volumes?: readonly { readonly name: string; readonly shared: boolean }[];
  /** Made ahead of a failover (its `skiff.prepared` label); absent: no. */
  readonly prepared?: boolean;
}

export interface EngineInfo {
  readonly id: string;
  readonly name: string;
  readonly cpuMillicores: number;
  readonly memoryBytes: number;
  readonly version: string;
}

/** A Skiff network on one engine: a bridge laid out by model/addressing.ts. */
export interface NetworkDefinition {
  /** The Docker network's name, `skiff-<cluster tag>-<network>`. */
  readonly name: string;
  readonly bridge: string;
  readonly subnet: string;
  readonly ipRange: string;
  readonly gateway: string;
  readonly clusterId: string;
}

/** What to create: the Docker create body, already derived from a task. */
export interface ContainerDefinition {
  readonly name: string;
  readonly image: string;
  readonly body: Record<string, unknown>;
  /** Its networks, first one primary (set in the body); the others are connected before start. */
  readonly networks: readonly NetworkDefinition[];
  /** DNS names it answers to on its networks besides its container name. */
  readonly aliases: readonly string[];
}

export interface EngineEvent {
  readonly action: string;
  readonly containerId: string;
  readonly taskId: string | undefined;
  readonly exitCode: number | null;
}

export interface LogEntry {
  readonly at: string;
  readonly stream: 'stdout' | 'stderr';
  readonly text: string;
}

export interface ListOptions {
  readonly withoutDetails?: ReadonlySet<string>;
}

export interface ContainerEngine {
  info(): Promise<EngineInfo>;
  /**
   * The cluster's containers. A stopped one's exit code and start time cost an inspect each;
   * `withoutDetails` names containers whose details are not wanted (being removed), left null.
   */
  listManaged(clusterId: string, options?: ListOptions): Promise<ManagedContainer[]>;
  hasImage(ref: string): Promise<boolean>;
  /** Pulls `ref` (a tag is given as written; `pullReference` adds `:latest` to a bare name). */
  pullImage(ref: string, options?: PullOptions): Promise<void>;
  /**
   * The ports the image declares (`EXPOSE`), as `PORT/PROTOCOL`: a service is reachable by name on
   * them too, as on Swarm's virtual IPs. Empty when the image is not on the engine.
   */
  imageExposedPorts(ref: string): Promise<string[]>;
  /** Creates the network if missing (idempotent); a same-named network of another cluster is replaced when unused. */
  ensureNetwork(network: NetworkDefinition): Promise<void>;
  /** The names of this cluster's networks on the engine. */
  listNetworks(clusterId: string): Promise<string[]>;
  /** Removes one of this cluster's networks; false when a container still uses it (or it is gone). */
  removeNetwork(name: string): Promise<boolean>;
  /**
   * Creates the volume, labelled as this cluster's, unless it exists (true when it made it); one
   * that exists without this cluster's label is refused (VolumeNotOursError), never taken over.
   */
  ensureVolume(volume: VolumeDefinition): Promise<boolean>;
  /** This cluster's volumes on the engine. */
  listVolumes(clusterId: string): Promise<ManagedVolume[]>;
  /** Removes one of this cluster's volumes; false when a container still uses it (or it is gone). */
  removeVolume(name: string): Promise<boolean>;
  /** Returns the new container's id, attached to all its networks. */
  createContainer(definition: ContainerDefinition): Promise<string>;
  startContainer(id: string): Promise<void>;
  /** SIGTERM, then SIGKILL after graceSeconds (default: the StopTimeout the container was created with); already stopped is fine. */
  stopContainer(id: string, graceSeconds?: number): Promise<void>;
  /** Force-removes, with its anonymous volumes (as Swarm does); already gone is fine. */
  removeContainer(id: string): Promise<void>;
  /**
   * Calls onEvent for this cluster's container state changes (create, start, die, oom, pause,
   * unpause, destroy) until the signal aborts; resolves when the stream ends.
   */
  watchEvents(clusterId: string, onEvent: (event: EngineEvent) => void, signal: AbortSignal): Promise<void>;
  /** Runs a command inside the container; resolves with its exit code, or rejects on timeout. */
  exec(
    id: string,
    command: readonly string[],
    timeoutMs: number,
  ): Promise<{ exitCode: number; output: string }>;
  /** Starts an interactive command in the container (`skiff exec`): output, stdin, resize, exit code. */
  execSession(id: string, request: ExecSessionRequest): Promise<ExecSession>;
  streamLogs(
    id: string,
    request: LogRequest,
    onEntries: (entries: LogEntry[]) => void,
    signal: AbortSignal,
  ): Promise<void>;
}

export interface PullOptions {
  /** The `X-Registry-Auth` header for the image's registry (src/registry/registry-auth.ts). */
  readonly auth?: string | undefined;
  /** Ends the pull (the engine cancels it when its client goes away): the pull timeout. */
  readonly signal?: AbortSignal | undefined;
}

/** The engine refused or failed an operation; `status` is the Engine API's HTTP status. */
export class EngineError extends Error {
  override readonly name: string = 'EngineError';
  readonly status: number | undefined;
  constructor(message: string, status: number | undefined, options?: { cause?: unknown }) {
    super(message, options);
    this.status = status;
  }
}

/** A volume of the name exists on the engine and is not this cluster's: Skiff does not take it over. */
export class VolumeNotOursError extends EngineError {
  override readonly name = 'VolumeNotOursError';
  readonly volume: string;
  constructor(volume: string) {
    super(
      `volume ${volume} exists on this engine and is not this cluster's (no skiff.cluster label): rename the spec's source, or move the data into a fresh volume`,
      // Not the engine's answer (a 409 would read as a container name conflict): no status.
      undefined,
    );
    this.volume = volume;
  }
}

/**
 * The engine could not be reached at all (no socket, nothing listening, no permission): no
 * operation can work until that is fixed. `code` is the system error (`ENOENT`, `EACCES`, …).
 */
export class EngineUnreachableError extends EngineError {
  override readonly name = 'EngineUnreachableError';
  readonly address: string;
  readonly code: string;
  constructor(message: string, address: string, code: string, options?: { cause?: unknown }) {
    super(message, undefined, options);
    this.address = address;
    this.code = code;
  }
}

export interface ExecSessionRequest {
  readonly command: readonly string[];
  readonly tty: boolean;
  readonly stdin: boolean;
  readonly user?: string | undefined;
  readonly workdir?: string | undefined;
  readonly env: readonly string[];
}

/** A running `exec`: its output as it comes (a TTY's is all stdout), its input, its end. */
export interface ExecSession {
  onOutput(listener: (stream: 'stdout' | 'stderr', data: Buffer) => void): void;
  write(data: Buffer): void;
  endInput(): void;
  resize(cols: number, rows: number): Promise<void>;
  /** The command's exit code once its output ends (null when the engine does not say). */
  readonly exited: Promise<number | null>;
  /**
   * Stops listening: the stream is closed. The engine has no way to kill an exec'd process, so
   * a command that ignores the closed terminal runs on (as with `docker exec`).
   */
  close(): void;
}
