/**
 * The ContainerEngine port on the Docker Engine API (through dockerode). Every response is
 * checked against a schema at this boundary; every call that fails becomes an EngineError
 * carrying the engine's status and message.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { type Duplex, PassThrough, type Readable } from 'node:stream';
import Docker from 'dockerode';
import { z } from 'zod';
import { pullReference } from '../model/image-parts.ts';
import type { LogRequest } from '../protocol/messages.ts';
import type {
  ContainerDefinition,
  ContainerEngine,
  ContainerState,
  EngineEvent,
  EngineInfo,
  ExecSession,
  ExecSessionRequest,
  ListOptions,
  LogEntry,
  ManagedContainer,
  ManagedVolume,
  NetworkDefinition,
  PullOptions,
  VolumeDefinition,
} from './container-engine.ts';
import {
  EngineError,
  EngineUnreachableError,
  LABELS,
  parseVolumesLabel,
  VolumeNotOursError,
} from './container-engine.ts';
import { describeEngineAddress, dockerOptionsFor, type EngineEnvironment } from './engine-address.ts';
import { LogFrameDecoder } from './log-frames.ts';

const infoSchema = z.object({
  ID: z.string(),
  Name: z.string(),
  NCPU: z.number(),
  MemTotal: z.number(),
  ServerVersion: z.string(),
});

const listItemSchema = z.object({
  Id: z.string(),
  Names: z.array(z.string()),
  State: z.string(),
  Created: z.number(),
  Labels: z.record(z.string(), z.string()).nullable(),
  Ports: z
    .array(
      z.object({
        PrivatePort: z.number(),
        PublicPort: z.number().optional(),
        Type: z.string(),
        IP: z.string().optional(),
      }),
    )
    .nullable()
    .optional(),
  NetworkSettings: z
    .object({
      Networks: z
        .record(z.string(), z.object({ IPAddress: z.string().optional() }))
        .nullable()
        .optional(),
    })
    .nullable()
    .optional(),
});

const volumeSchema = z.object({
  Name: z.string(),
  Labels: z.record(z.string(), z.string()).nullable().optional(),
  CreatedAt: z.string().optional(),
});

const inspectSchema = z.object({
  State: z.object({
    Status: z.string(),
    ExitCode: z.number(),
    OOMKilled: z.boolean(),
    StartedAt: z.string(),
  }),
});

/** Tolerant: only the declared ports are read of an image's inspect. */
const imageInspectSchema = z.object({
  Config: z
    .object({ ExposedPorts: z.record(z.string(), z.unknown()).nullable().optional() })
    .nullable()
    .optional(),
});

const eventSchema = z.object({
  Type: z.string().optional(),
  Action: z.string(),
  Actor: z.object({ ID: z.string(), Attributes: z.record(z.string(), z.string()).optional() }),
});

/** The container events that change what a list shows. */
const STATE_EVENTS = ['create', 'start', 'die', 'oom', 'pause', 'unpause', 'destroy'] as const;

/** States in which how a container ended is settled until it is removed or started again. */
const FINAL_STATES: ReadonlySet<string> = new Set(['exited', 'dead']);

/** Inspects of stopped containers in flight at once while listing. */
const INSPECTS_AT_ONCE = 16;

const CONTAINER_STATES = new Set<ContainerState>([
  'created',
  'running',
  'paused',
  'restarting',
  'removing',
  'exited',
  'dead',
]);

const processEngineEnvironment: EngineEnvironment = {
  env: process.env,
  readFile: (path) => readFileSync(path),
};

export class DockerEngine implements ContainerEngine {
  readonly #docker: Docker;
  /** Networks known to exist as this cluster's, so creates skip the check. */
  readonly #readyNetworks = new Set<string>();
  readonly #ensuring = new Map<string, Promise<void>>();
  /** Inspections of containers that have exited for good (exited, dead), by id, while listed. */
  readonly #exited = new Map<string, z.infer<typeof inspectSchema>>();

  /**
   * `host` is `unix:///path/docker.sock`, `tcp://host:port` or `ssh://user@host`; without it
   * dockerode reads DOCKER_HOST and the TLS settings from the environment (engine-address.ts).
   */
  constructor(host?: string, environment: EngineEnvironment = processEngineEnvironment) {
    const options = dockerOptionsFor(host, environment);
    this.#docker = options === undefined ? new Docker() : new Docker(options);
  }

  /** Where this engine is expected, for messages. */
  get address(): string {
    return describeEngineAddress(this.#docker.modem as Parameters<typeof describeEngineAddress>[0]);
  }

  async info(): Promise<EngineInfo> {
    const info = infoSchema.parse(await this.#call('info', () => this.#docker.info()));
    return {
      id: info.ID,
      name: info.Name,
      cpuMillicores: info.NCPU * 1000,
      memoryBytes: info.MemTotal,
      version: info.ServerVersion,
    };
  }

  async listManaged(clusterId: string, options: ListOptions = {}): Promise<ManagedContainer[]> {
    const skip = options.withoutDetails;
    const raw = await this.#call('list containers', () =>
      this.#docker.listContainers({ all: true, filters: { label: [`${LABELS.cluster}=${clusterId}`] } }),
    );
    const items = z.array(listItemSchema).parse(raw);
    // The list omits exit codes and start times; only stopped containers need them, so only they
    // pay for an inspect, a few at once (after a mass SIGKILL a pass may list a hundred of them).
    // How an exited container ended never changes, so each is inspected once, not once a pass.
    const listed = new Set(items.map((item) => item.Id));
    for (const id of this.#exited.keys()) if (!listed.has(id)) this.#exited.delete(id);
    const inspected = new Map<string, z.infer<typeof inspectSchema> | undefined>();
    const stopped: string[] = [];
    for (const item of items) {
      if (item.State === 'running') {
        // Started again behind Skiff's back (`docker start`): its next exit is a new one.
        this.#exited.delete(item.Id);
        continue;
      }
      // Never started (a create in progress, or a replica prepared for a failover): no exit code
      // or start time to learn, and a failover's start must not wait behind their inspects.
      if (item.State === 'created') continue;
      const known = FINAL_STATES.has(item.State) ? this.#exited.get(item.Id) : undefined;
      if (known) inspected.set(item.Id, known);
      else if (!skip?.has(item.Id)) stopped.push(item.Id);
    }
    for (let i = 0; i < stopped.length; i += INSPECTS_AT_ONCE) {
      const batch = stopped.slice(i, i + INSPECTS_AT_ONCE);
      const details = await Promise.all(batch.map(async (id) => [id, await this.#inspect(id)] as const));
      for (const [id, detail] of details) {
        inspected.set(id, detail);
        if (detail && FINAL_STATES.has(detail.State.Status)) this.#exited.set(id, detail);
      }
    }
    const containers: ManagedContainer[] = [];
    for (const item of items) {
      const labels = item.Labels ?? {};
      const taskId = labels[LABELS.task];
      const service = labels[LABELS.service];
      if (!taskId || !service) continue;
      const state = CONTAINER_STATES.has(item.State as ContainerState)
        ? (item.State as ContainerState)
        : 'dead';
      const details = inspected.get(item.Id);
      containers.push({
        id: item.Id,
        name: (item.Names[0] ?? '').replace(/^\//, ''),
        taskId,
        service,
        slot: Number(labels[LABELS.slot] ?? 0),
        revision: Number(labels[LABELS.revision] ?? 0),
        state,
        exitCode: details ? details.State.ExitCode : null,
        oomKilled: details ? details.State.OOMKilled : false,
        startedAt: details ? parseStartedAt(details.State.StartedAt) : null,
        createdAt: item.Created * 1000,
        ports: (item.Ports ?? [])
          .filter((p) => p.PublicPort !== undefined && (p.IP === undefined || !p.IP.includes(':')))
          .map((p) => ({
            container_port: p.PrivatePort,
            host_port: p.PublicPort ?? 0,
            protocol: p.Type === 'udp' ? 'udp' : 'tcp',
          })),
        volumes: parseVolumesLabel(labels[LABELS.volumes]),
        ...(labels[LABELS.prepared] === 'true' ? { prepared: true } : {}),
        ip:
          Object.values(item.NetworkSettings?.Networks ?? {})
            .map((n) => n.IPAddress)
            .find((address) => address !== undefined && address !== '') ?? null,
      });
    }
    return containers;
  }

  async #inspect(id: string): Promise<z.infer<typeof inspectSchema> | undefined> {
    try {
      return inspectSchema.parse(await this.#docker.getContainer(id).inspect());
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw toEngineError(`inspect container ${id.slice(0, 12)}`, error, this.address);
    }
  }

  async hasImage(ref: string): Promise<boolean> {
    try {
      await this.#docker.getImage(ref).inspect();
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw toEngineError(`inspect image ${ref}`, error, this.address);
    }
  }

  async imageExposedPorts(ref: string): Promise<string[]> {
    try {
      const inspected = imageInspectSchema.parse(await this.#docker.getImage(ref).inspect());
      return Object.keys(inspected.Config?.ExposedPorts ?? {});
    } catch (error) {
      if (statusOf(error) === 404) return [];
      throw toEngineError(`inspect image ${ref}`, error, this.address);
    }
  }

  async pullImage(ref: string, options: PullOptions = {}): Promise<void> {
    const { auth, signal } = options;
    const what = `pull ${ref}`;
    const aborted = () => new EngineError(`${what}: ${abortReason(signal)}`, undefined);
    // `fromImage` takes the whole reference (tag or digest): dockerode's own split of
    // `repo:tag@digest` is not Docker's.
    const stream = (await this.#call(what, async () => {
      try {
        return await this.#docker.createImage(auth ? { base64: auth } : undefined, {
          fromImage: pullReference(ref),
          ...(signal ? { abortSignal: signal } : {}),
        });
      } catch (error) {
        if (signal?.aborted) throw aborted();
        throw error;
      }
    })) as Readable;
    await new Promise<void>((resolve, reject) => {
      this.#docker.modem.followProgress(stream, (error: Error | null, output: unknown[]) => {
        // The engine reports pull failures inside the progress stream, not as a status.
        const failed = output?.find((item) => z.object({ error: z.string() }).safeParse(item).success);
        if (signal?.aborted) reject(aborted());
        else if (error) reject(new EngineError(`${what}: ${error.message}`, undefined, { cause: error }));
        else if (failed)
          reject(new EngineError(`${what}: ${(failed as { error: string }).error}`, undefined));
        else resolve();
      });
    });
  }

  /** Concurrent ensures of one network share one check-and-create (a second create would fail on the pool). */
  ensureNetwork(network: NetworkDefinition): Promise<void> {
    if (this.#readyNetworks.has(network.name)) return Promise.resolve();
    let pending = this.#ensuring.get(network.name);
    if (!pending) {
      pending = this.#createNetwork(network).finally(() => this.#ensuring.delete(network.name));
      this.#ensuring.set(network.name, pending);
    }
    return pending;
  }

  async #createNetwork(network: NetworkDefinition): Promise<void> {
    const found = z
      .array(
        z.object({
          Id: z.string(),
          Name: z.string(),
          Labels: z.record(z.string(), z.string()).nullable().optional(),
        }),
      )
      .parse(
        await this.#call('list networks', () =>
          this.#docker.listNetworks({ filters: { name: [network.name] } }),
        ),
      );
    // The engine's name filter matches substrings (`skiff-ab12cd-web` finds `…-web2` too).
    const existing = found.find((n) => n.Name === network.name && n.Labels?.[LABELS.cluster] !== undefined);
    if (existing && existing.Labels?.[LABELS.cluster] !== network.clusterId) {
      // A leftover of another cluster on this engine (an old `skiff up`): only ever removed when unused.
      await this.#call(`remove network ${network.name}`, () => this.#docker.getNetwork(existing.Id).remove());
    }
    if (!existing || existing.Labels?.[LABELS.cluster] !== network.clusterId) {
      try {
        await this.#docker.createNetwork({
          Name: network.name,
          Driver: 'bridge',
          CheckDuplicate: true,
          IPAM: { Config: [{ Subnet: network.subnet, IPRange: network.ipRange, Gateway: network.gateway }] },
          Options: { 'com.docker.network.bridge.name': network.bridge },
          Labels: { [LABELS.cluster]: network.clusterId },
        });
      } catch (error) {
        // 409: created meanwhile by a concurrent create of this loop, which is what we wanted.
        if (statusOf(error) !== 409)
          throw toEngineError(`create network ${network.name}`, error, this.address);
      }
    }
    this.#readyNetworks.add(network.name);
  }

  async listNetworks(clusterId: string): Promise<string[]> {
    const found = z
      .array(z.object({ Name: z.string() }))
      .parse(
        await this.#call('list networks', () =>
          this.#docker.listNetworks({ filters: { label: [`${LABELS.cluster}=${clusterId}`] } }),
        ),
      );
    return found.map((n) => n.Name);
  }

  async removeNetwork(name: string): Promise<boolean> {
    // Forgotten first: an ensure after this point checks the engine again and recreates it.
    this.#readyNetworks.delete(name);
    try {
      await this.#docker.getNetwork(name).remove();
      return true;
    } catch (error) {
      // 403/409: a container still has an endpoint on it; 404: gone already.
      const status = statusOf(error);
      if (status === 403 || status === 404 || status === 409) return false;
      throw toEngineError(`remove network ${name}`, error, this.address);
    }
  }

  async ensureVolume(volume: VolumeDefinition): Promise<boolean> {
    try {
      const found = volumeSchema.parse(await this.#docker.getVolume(volume.name).inspect());
      if (found.Labels?.[LABELS.cluster] !== volume.clusterId) throw new VolumeNotOursError(volume.name);
      return false;
    } catch (error) {
      if (error instanceof VolumeNotOursError) throw error;
      if (statusOf(error) !== 404) throw toEngineError(`inspect volume ${volume.name}`, error, this.address);
    }
    await this.#call(`create volume ${volume.name}`, () =>
      this.#docker.createVolume({
        Name: volume.name,
        Labels: {
          [LABELS.cluster]: volume.clusterId,
          [LABELS.service]: volume.service,
          [LABELS.slot]: String(volume.slot),
          [LABELS.volumeSource]: volume.source,
        },
      }),
    );
    return true;
  }

  async listVolumes(clusterId: string): Promise<ManagedVolume[]> {
    const raw = await this.#call('list volumes', () =>
      this.#docker.listVolumes({ filters: { label: [`${LABELS.cluster}=${clusterId}`] } }),
    );
    const { Volumes } = z.object({ Volumes: z.array(volumeSchema).nullable() }).parse(raw);
    return (Volumes ?? []).map((v) => {
      const slot = v.Labels?.[LABELS.slot];
      const created = v.CreatedAt === undefined ? Number.NaN : Date.parse(v.CreatedAt);
      return {
        name: v.Name,
        service: v.Labels?.[LABELS.service] ?? '',
        slot: slot === undefined || !/^\d+$/.test(slot) ? null : Number(slot),
        createdAt: Number.isNaN(created) ? null : created,
      };
    });
  }

  async removeVolume(name: string): Promise<boolean> {
    try {
      await this.#docker.getVolume(name).remove();
      return true;
    } catch (error) {
      // 409: a container (running or not) still has it; 404: gone already.
      const status = statusOf(error);
      if (status === 404 || status === 409) return false;
      throw toEngineError(`remove volume ${name}`, error, this.address);
    }
  }

  async createContainer(definition: ContainerDefinition): Promise<string> {
    const container = await this.#call(`create ${definition.name}`, () =>
      this.#docker.createContainer({ ...definition.body, name: definition.name }),
    );
    for (const network of definition.networks.slice(1)) {
      await this.#call(`connect ${definition.name} to ${network.name}`, () =>
        this.#docker
          .getNetwork(network.name)
          .connect({ Container: container.id, EndpointConfig: { Aliases: [...definition.aliases] } }),
      );
    }
    return container.id;
  }

  async startContainer(id: string): Promise<void> {
    try {
      await this.#docker.getContainer(id).start();
    } catch (error) {
      if (statusOf(error) === 304) return;
      throw toEngineError(`start ${id.slice(0, 12)}`, error, this.address);
    }
  }

  async stopContainer(id: string, graceSeconds?: number): Promise<void> {
    try {
      await this.#docker.getContainer(id).stop(graceSeconds === undefined ? {} : { t: graceSeconds });
    } catch (error) {
      const status = statusOf(error);
      if (status === 304 || status === 404) return;
      throw toEngineError(`stop ${id.slice(0, 12)}`, error, this.address);
    }
  }

  async removeContainer(id: string): Promise<void> {
    try {
      await this.#docker.getContainer(id).remove({ force: true, v: true });
    } catch (error) {
      const status = statusOf(error);
      // 409: removal already in progress, which is what we asked for.
      if (status === 404 || status === 409) return;
      throw toEngineError(`remove ${id.slice(0, 12)}`, error, this.address);
    }
  }

  async watchEvents(
    clusterId: string,
    onEvent: (event: EngineEvent) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const stream = (await this.#call('watch events', () =>
      this.#docker.getEvents({
        // Only state changes: a `kill` before its `die`, or an exec probe's exec_* events, would
        // each cost the agent a pass (a list) for nothing, and the `die` of a crash would wait behind it.
        filters: {
          type: ['container'],
          event: [...STATE_EVENTS],
          label: [`${LABELS.cluster}=${clusterId}`],
        },
      }),
    )) as Readable;
    const abort = () => stream.destroy();
    signal.addEventListener('abort', abort, { once: true });
    try {
      for await (const line of createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY })) {
        if (line.trim() === '') continue;
        const parsed = eventSchema.safeParse(JSON.parse(line));
        if (!parsed.success) continue;
        const attributes = parsed.data.Actor.Attributes ?? {};
        const exitCode = attributes.exitCode === undefined ? null : Number(attributes.exitCode);
        onEvent({
          action: parsed.data.Action,
          containerId: parsed.data.Actor.ID,
          taskId: attributes[LABELS.task],
          exitCode,
        });
      }
    } catch (error) {
      if (!signal.aborted) throw toEngineError('watch events', error, this.address);
    } finally {
      signal.removeEventListener('abort', abort);
    }
  }

  async exec(
    id: string,
    command: readonly string[],
    timeoutMs: number,
  ): Promise<{ exitCode: number; output: string }> {
    const container = this.#docker.getContainer(id);
    const exec = await this.#call(`exec in ${id.slice(0, 12)}`, () =>
      container.exec({ Cmd: [...command], AttachStdout: true, AttachStderr: true }),
    );
    const stream = (await this.#call(`exec in ${id.slice(0, 12)}`, () =>
      exec.start({ hijack: true, stdin: false }),
    )) as Readable;
    const decoder = new LogFrameDecoder();
    const lines: string[] = [];
    const ended = new Promise<void>((resolve, reject) => {
      stream.on('data', (chunk: Buffer) => {
        for (const entry of decoder.push(chunk)) if (lines.length < 20) lines.push(entry.text);
      });
      stream.on('end', () => resolve());
      stream.on('error', reject);
    });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        stream.destroy();
        reject(new EngineError(`exec timed out after ${timeoutMs} ms`, undefined));
      }, timeoutMs);
    });
    try {
      await Promise.race([ended, timedOut]);
    } finally {
      clearTimeout(timer);
    }
    const details = z.object({ ExitCode: z.number().nullable() }).parse(await exec.inspect());
    return { exitCode: details.ExitCode ?? -1, output: lines.join('\n') };
  }

  async execSession(id: string, request: ExecSessionRequest): Promise<ExecSession> {
    const container = this.#docker.getContainer(id);
    const what = `exec in ${id.slice(0, 12)}`;
    const exec = await this.#call(what, () =>
      container.exec({
        Cmd: [...request.command],
        AttachStdin: request.stdin,
        AttachStdout: true,
        AttachStderr: true,
        Tty: request.tty,
        Env: [...request.env],
        ...(request.user === undefined ? {} : { User: request.user }),
        ...(request.workdir === undefined ? {} : { WorkingDir: request.workdir }),
      }),
    );
    const stream = (await this.#call(what, () =>
      exec.start({ hijack: true, stdin: request.stdin, Tty: request.tty }),
    )) as Duplex;
    const listeners: ((stream: 'stdout' | 'stderr', data: Buffer) => void)[] = [];
    const emit = (kind: 'stdout' | 'stderr') => (data: Buffer) => {
      for (const listener of listeners) listener(kind, data);
    };
    if (request.tty) stream.on('data', emit('stdout'));
    else {
      // Without a TTY the engine multiplexes stdout and stderr in 8-byte-headed frames.
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      stdout.on('data', emit('stdout'));
      stderr.on('data', emit('stderr'));
      this.#docker.modem.demuxStream(stream, stdout, stderr);
    }
    const exited = new Promise<number | null>((resolve) => {
      let ended = false;
      const done = () => {
        if (ended) return;
        ended = true;
        exec.inspect().then(
          (details) => resolve(z.object({ ExitCode: z.number().nullable() }).parse(details).ExitCode),
          () => resolve(null),
        );
      };
      stream.once('end', done);
      stream.once('close', done);
      stream.once('error', done);
    });
    return {
      onOutput: (listener) => listeners.push(listener),
      write: (data) => {
        if (!stream.destroyed) stream.write(data);
      },
      endInput: () => {
        // Half-close: the command sees end of file and may still write its output.
        if (!stream.destroyed) stream.end();
      },
      resize: async (cols, rows) => {
        await this.#call(`${what}: resize`, () => exec.resize({ w: cols, h: rows }));
      },
      exited,
      close: () => stream.destroy(),
    };
  }

  async streamLogs(
    id: string,
    request: LogRequest,
    onEntries: (entries: LogEntry[]) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const options = {
      stdout: true,
      stderr: true,
      timestamps: true,
      since: request.since ?? 0,
      ...(request.tail === null ? {} : { tail: request.tail }),
    };
    const decoder = new LogFrameDecoder();
    const container = this.#docker.getContainer(id);
    if (!request.follow) {
      const buffer = await this.#call(`logs ${id.slice(0, 12)}`, () =>
        container.logs({ ...options, follow: false }),
      );
      onEntries([...decoder.push(buffer), ...decoder.flush()]);
      return;
    }
    const stream = (await this.#call(`logs ${id.slice(0, 12)}`, () =>
      container.logs({ ...options, follow: true }),
    )) as Readable;
    const abort = () => stream.destroy();
    signal.addEventListener('abort', abort, { once: true });
    try {
      for await (const chunk of stream) {
        const entries = decoder.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
        if (entries.length > 0) onEntries(entries);
      }
      const rest = decoder.flush();
      if (rest.length > 0) onEntries(rest);
    } catch (error) {
      if (!signal.aborted) throw toEngineError(`logs ${id.slice(0, 12)}`, error, this.address);
    } finally {
      signal.removeEventListener('abort', abort);
    }
  }

  async #call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw toEngineError(what, error, this.address);
    }
  }
}

/** System errors that mean no engine answers at the address (as opposed to one that said no). */
const UNREACHABLE_CODES = new Set([
  'ENOENT',
  'ECONNREFUSED',
  'EACCES',
  'EPERM',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
]);

function systemErrorOf(error: unknown): { code: string; address: string | undefined } | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  const { code } = error as { code: unknown };
  if (typeof code !== 'string' || !UNREACHABLE_CODES.has(code)) return undefined;
  const { address, port } = error as { address?: unknown; port?: unknown };
  if (typeof address !== 'string') return { code, address: undefined };
  // A unix socket's address is its path; a TCP one comes with a port.
  return { code, address: typeof port === 'number' ? `tcp://${address}:${port}` : `unix://${address}` };
}

function statusOf(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && 'statusCode' in error) {
    const status = (error as { statusCode: unknown }).statusCode;
    return typeof status === 'number' ? status : undefined;
  }
  return undefined;
}

/** The engine's own message (`json.message`) is the useful part of dockerode's errors. */
function toEngineError(what: string, error: unknown, engineAddress: string): EngineError {
  if (error instanceof EngineError) return error;
  const system = systemErrorOf(error);
  if (system) {
    const address = system.address ?? engineAddress;
    return new EngineUnreachableError(
      `${what}: cannot reach the Docker engine at ${address} (${system.code})`,
      address,
      system.code,
      { cause: error },
    );
  }
  const json =
    typeof error === 'object' && error !== null && 'json' in error
      ? (error as { json: unknown }).json
      : undefined;
  const parsed = z.object({ message: z.string() }).safeParse(json);
  const message = parsed.success
    ? parsed.data.message
    : error instanceof Error
      ? error.message
      : String(error);
  return new EngineError(`${what}: ${message.trim()}`, statusOf(error), { cause: error });
}

function abortReason(signal: AbortSignal | undefined): string {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error && reason.name === 'TimeoutError') return 'timed out (the pull timeout)';
  return reason instanceof Error ? reason.message : 'cancelled';
}

function parseStartedAt(text: string): number | null {
  const at = Date.parse(text);
  // Never-started containers report year 1.
  return Number.isNaN(at) || at <= 0 ? null : at;
}
