/**
 * The loop on an engine fake that holds every stop until the test lets it go (an image whose PID
 * 1 ignores SIGTERM, waiting out its grace period): stops wait in parallel, and creates and
 * starts never queue behind them, even with one engine slot.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually } from '../../test/support/eventually.ts';
import type {
  ContainerDefinition,
  ContainerEngine,
  EngineEvent,
  ListOptions,
  ManagedContainer,
  ManagedVolume,
  VolumeDefinition,
} from '../docker/container-engine.ts';
import { LABELS, parseVolumesLabel } from '../docker/container-engine.ts';
import { DEFAULT_POOL } from '../model/addressing.ts';
import { serviceSpecSchema } from '../model/service-spec.ts';
import type { TaskSpec } from '../protocol/messages.ts';
import type { LoopReport } from './converge-loop.ts';
import { ConvergeLoop } from './converge-loop.ts';

class HeldStopsEngine implements ContainerEngine {
  readonly containers = new Map<string, ManagedContainer>();
  /** Stops in flight, each released by the test. */
  readonly stops = new Map<string, () => void>();
  #next = 0;
  #onEvent: ((event: EngineEvent) => void) | undefined;

  async info() {
    return { id: 'e', name: 'fake', cpuMillicores: 2000, memoryBytes: 2 ** 32, version: 'fake' };
  }
  /** Lists made, and what the last one was told not to inspect. */
  lists = 0;
  lastWithoutDetails: readonly string[] = [];
  /** When set, removals wait for the test too (`removals` releases them). */
  holdRemovals = false;
  readonly removals = new Map<string, () => void>();
  async listManaged(_cluster: string, options: ListOptions = {}): Promise<ManagedContainer[]> {
    this.lists++;
    this.lastWithoutDetails = [...(options.withoutDetails ?? [])].sort();
    return [...this.containers.values()];
  }
  async hasImage() {
    return true;
  }
  async pullImage() {}
  async imageExposedPorts(): Promise<string[]> {
    return [];
  }
  async ensureNetwork() {}
  async listNetworks(): Promise<string[]> {
    return [];
  }
  async execSession(): Promise<never> {
    throw new Error('not in this test');
  }
  async removeNetwork() {
    return false;
  }
  readonly volumes = new Set<string>();
  async ensureVolume(volume: VolumeDefinition) {
    const made = !this.volumes.has(volume.name);
    this.volumes.add(volume.name);
    return made;
  }
  async listVolumes(): Promise<ManagedVolume[]> {
    return [...this.volumes].map((name) => ({ name, service: 'db', slot: 0, createdAt: 1 }));
  }
  async removeVolume(name: string) {
    // As Docker: refused while any container (running or not) mounts it.
    if ([...this.containers.values()].some((c) => c.volumes?.some((v) => v.name === name))) return false;
    return this.volumes.delete(name);
  }
  async createContainer(definition: ContainerDefinition): Promise<string> {
    const labels = definition.body.Labels as Record<string, string>;
    const id = `c${++this.#next}`.padEnd(12, '0');
    this.containers.set(id, {
      id,
      name: definition.name,
      taskId: labels[LABELS.task] ?? '',
      service: labels[LABELS.service] ?? '',
      slot: Number(labels[LABELS.slot]),
      revision: 1,
      state: 'created',
      exitCode: null,
      oomKilled: false,
      startedAt: null,
      createdAt: this.#next,
      ports: [],
      ip: null,
      volumes: parseVolumesLabel(labels[LABELS.volumes]),
    });
    return id;
  }
  async startContainer(id: string) {
    this.#set(id, { state: 'running' });
    this.#emit('start', id);
  }
  async stopContainer(id: string) {
    await new Promise<void>((release) => this.stops.set(id, release));
    this.#set(id, { state: 'exited', exitCode: 137 });
    this.#emit('die', id);
  }
  async removeContainer(id: string) {
    if (this.holdRemovals) await new Promise<void>((release) => this.removals.set(id, release));
    this.containers.delete(id);
    this.#emit('destroy', id);
  }
  async watchEvents(_cluster: string, onEvent: (event: EngineEvent) => void, signal: AbortSignal) {
    this.#onEvent = onEvent;
    await new Promise((done) => signal.addEventListener('abort', done, { once: true }));
  }
  async exec() {
    return { exitCode: 0, output: '' };
  }
  async streamLogs() {}

  running(service: string): number {
    return [...this.containers.values()].filter((c) => c.service === service && c.state === 'running').length;
  }

  #set(id: string, change: Partial<ManagedContainer>) {
    const container = this.containers.get(id);
    if (container) this.containers.set(id, { ...container, ...change });
  }
  #emit(action: string, containerId: string) {
    const exitCode = action === 'die' ? 137 : null;
    this.#onEvent?.({ action, containerId, taskId: this.containers.get(containerId)?.taskId, exitCode });
  }
}

function task(service: string, slot: number): TaskSpec {
  return {
    task_id: `${service}-task-${slot}`,
    service,
    slot,
    revision: 1,
    spec: serviceSpecSchema.parse({ name: service, image: 'img', update: { drain_timeout: '0s' } }),
    networks: [{ name: 'default', index: 0 }],
  };
}

test('a start never queues behind stops waiting out their grace period', async () => {
  const engine = new HeldStopsEngine();
  const reports: LoopReport[] = [];
  const loop = new ConvergeLoop({
    engine,
    clusterId: 'cluster',
    pool: DEFAULT_POOL,
    nodeId: 'node-1',
    concurrency: 1,
    resyncIntervalMs: 60_000,
    stableAfterMs: 10_000,
    now: Date.now,
    onReport: (report) => reports.push(report),
    onError: (error) => assert.fail(String(error)),
  });
  loop.start();
  try {
    const old = [0, 1, 2, 3, 4].map((slot) => task('old', slot));
    loop.setDesired(old, { fromServer: true });
    await eventually('5 old replicas running', () => engine.running('old') === 5);

    // The old service goes, a new one comes: five stops hang, all at once, and the new replica
    // starts anyway through the single engine slot.
    loop.setDesired([task('new', 0)], { fromServer: true });
    await eventually('the new replica running', () => engine.running('new') === 1, { timeoutMs: 5_000 });
    await eventually('every stop in flight together', () => engine.stops.size === 5, { timeoutMs: 5_000 });
    assert.equal(engine.running('old'), 5, 'no stop has finished yet');

    for (const release of engine.stops.values()) release();
    await eventually('the old containers removed', () =>
      [...engine.containers.values()].every((c) => c.service === 'new'),
    );
    const events = reports.flatMap((r) => r.events.map((e) => e.message));
    assert.equal(events.filter((m) => / \(c\d+0*\) stopped$/.test(m)).length, 5, JSON.stringify(events));
  } finally {
    loop.stop();
  }
});

test('a replacement is current at once: the death of its predecessor changes nothing', async () => {
  const engine = new HeldStopsEngine();
  const loop = new ConvergeLoop({
    engine,
    clusterId: 'cluster',
    pool: DEFAULT_POOL,
    nodeId: 'node-1',
    concurrency: 2,
    resyncIntervalMs: 60_000,
    stableAfterMs: 10_000,
    now: Date.now,
    onReport: () => {},
    onError: (error) => assert.fail(String(error)),
  });
  loop.start();
  try {
    loop.setDesired([task('web', 0)], { fromServer: true });
    const first = await eventually('web-0 running', () => loop.containerOf('web-task-0'));
    // The container crashes: replaced once, and the replacement stays.
    engine.containers.set(first.id, { ...first, state: 'exited', exitCode: 137 });
    loop.trigger();
    const second = await eventually('a replacement running', () => {
      const c = loop.containerOf('web-task-0');
      return c && c.id !== first.id && c.state === 'running' ? c : undefined;
    });
    await eventually('the predecessor removed', () => !engine.containers.has(first.id));
    for (let pass = 0; pass < 5; pass++) loop.trigger();
    await eventually('still one container, the same', () => {
      const all = [...engine.containers.values()];
      return all.length === 1 && all[0]?.id === second.id && engine.stops.size === 0;
    });
    const report = loop.fullReport().tasks.find((t) => t.task_id === 'web-task-0');
    assert.equal(report?.restart_count, 1);
    assert.equal(report?.container_id, second.id.slice(0, 12));
  } finally {
    loop.stop();
  }
});

test("a single-writer volume's next replica waits for the old container's stop; a removal waits for no container", async () => {
  const engine = new HeldStopsEngine();
  const reported: string[][] = [];
  const loop = new ConvergeLoop({
    engine,
    clusterId: 'cluster',
    pool: DEFAULT_POOL,
    nodeId: 'node-1',
    concurrency: 2,
    resyncIntervalMs: 60_000,
    stableAfterMs: 10_000,
    now: Date.now,
    onReport: () => {},
    onVolumes: (volumes) => reported.push(volumes.map((v) => `${v.name}:${v.used_by.join('+')}`)),
    onError: (error) => assert.fail(String(error)),
  });
  const db = (id: string): TaskSpec => ({
    ...task('db', 0),
    task_id: id,
    spec: serviceSpecSchema.parse({
      name: 'db',
      image: 'img',
      update: { drain_timeout: '0s' },
      volumes: [{ source: 'data-{{.Task.Slot}}', target: '/data' }],
    }),
  });
  loop.start();
  try {
    loop.setDesired([db('old')], { fromServer: true });
    await eventually('the old replica running', () => engine.running('db') === 1);
    assert.ok(engine.volumes.has('data-0'), 'the agent made the volume');
    await eventually('the volume reported, used by old', () => reported.at(-1)?.join() === 'data-0:old');
    // The server replaces it stop-first: the old one stops (held by the test), the new one waits.
    loop.setDesired([db('new')], { fromServer: true });
    await eventually('the old one stopping', () => engine.stops.size === 1);
    const waiting = await eventually('the new one waiting, saying why', () => {
      const observed = loop.fullReport().tasks.find((t) => t.task_id === 'new');
      return observed?.message?.startsWith('waiting for volume data-0') ? observed : undefined;
    });
    assert.equal(waiting.container_id, null, 'no container created while the old one has the volume');
    for (const release of engine.stops.values()) release();
    await eventually('the new replica running alone', () => {
      const all = [...engine.containers.values()];
      return all.length === 1 && all[0]?.taskId === 'new' && all[0].state === 'running';
    });
    // The service goes with its volumes: removed once no container has it.
    loop.setDesired([], { fromServer: true });
    loop.removeVolumes(['data-0']);
    for (const release of engine.stops.values()) release();
    await eventually('the volume removed', () => {
      for (const release of engine.stops.values()) release();
      return !engine.volumes.has('data-0');
    });
    await eventually('reported gone', () => reported.at(-1)?.length === 0);
  } finally {
    loop.stop();
  }
});

test('the deaths of containers it is removing ask the engine for no list, and no inspect of them', async () => {
  const engine = new HeldStopsEngine();
  engine.holdRemovals = true;
  const loop = new ConvergeLoop({
    engine,
    clusterId: 'cluster',
    pool: DEFAULT_POOL,
    nodeId: 'node-1',
    concurrency: 2,
    resyncIntervalMs: 60_000,
    stableAfterMs: 10_000,
    now: Date.now,
    onReport: () => {},
    onError: (error) => assert.fail(String(error)),
  });
  loop.start();
  try {
    loop.setDesired(
      [0, 1, 2, 3, 4].map((slot) => task('old', slot)),
      { fromServer: true },
    );
    await eventually('5 replicas running', () => engine.running('old') === 5);
    loop.setDesired([], { fromServer: true });
    await eventually('every stop in flight', () => engine.stops.size === 5);
    const ids = [...engine.containers.keys()].sort();
    // A pass while they stop: the containers being removed are not to be inspected.
    const before = engine.lists;
    loop.trigger();
    await eventually('the pass listed', () => engine.lists > before);
    assert.deepEqual(engine.lastWithoutDetails, ids);

    // All five die at once (their grace ends): no pass follows their deaths.
    const quiet = engine.lists;
    for (const release of engine.stops.values()) release();
    await eventually(
      'all exited, removals in flight',
      () => engine.removals.size > 0 && [...engine.containers.values()].every((c) => c.state === 'exited'),
    );
    loop.trigger();
    await eventually('the pass asked for', () => engine.lists > quiet);
    assert.equal(engine.lists, quiet + 1, 'only the pass asked for listed');
    await eventually('all removed', () => {
      for (const release of engine.removals.values()) release();
      return engine.containers.size === 0;
    });
  } finally {
    loop.stop();
  }
});
