/**
 * The stream's pure parts: state diffs (only changed rows, heartbeats are no change), merging a
 * burst into one change (checked against applying the changes one by one, on seeded random
 * sequences), a client's pacing (one message when drained, folding while not, resync when too far
 * behind), and the hub over a fake source (snapshot, versioned changes, revalidation).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { replica, serviceView } from '../../cli/service-view-fixture.ts';
import type { SkiffEvent } from '../../model/event.ts';
import type { NodeView, ServiceView } from '../../model/views.ts';
import { seededRandom } from '../../sim/random.ts';
import type { StreamServerMessage, TaskView } from './messages.ts';
import { parseServerMessage, STREAM_CLOSE_CODES } from './messages.ts';
import type { StreamSocket } from './stream-client.ts';
import { StreamClient } from './stream-client.ts';
import type { StreamSource } from './stream-hub.ts';
import { StreamHub } from './stream-hub.ts';
import type { StreamChanges, TopicChanges } from './stream-state.ts';
import { buildState, diffStates, EMPTY_STATE, mergeChanges } from './stream-state.ts';

function service(name: string, replicas: number): ServiceView {
  return serviceView({
    name,
    replicas,
    containers: Array.from({ length: replicas }, (_, slot) =>
      replica({ slot, name: `${name}-${slot}`, task_id: `${name}-task-${slot}` }),
    ),
  });
}

function node(id: string, heartbeat: string, availability: NodeView['availability'] = 'active'): NodeView {
  return {
    id,
    name: id,
    status: 'ready',
    availability,
    address: '10.0.0.1',
    labels: {},
    engine_version: '27.0.0',
    cpu_millicores: 4000,
    memory_bytes: 8e9,
    allocated_cpu_millicores: 0,
    allocated_memory_bytes: 0,
    containers: 0,
    joined_at: '2025-06-01T12:00:00.000Z',
    last_heartbeat: heartbeat,
    message: null,
  };
}

describe('state diffs', () => {
  test('only rows that changed are upserted; rows gone are removed; a heartbeat alone is nothing', () => {
    const before = buildState([service('a', 2), service('b', 1)], [node('n1', 't1'), node('n2', 't1')]);
    const after = buildState(
      [service('a', 3), service('c', 1)],
      [node('n1', 't2'), node('n2', 't2', 'cordoned')],
    );
    const diff = diffStates(before, after);
    assert.deepEqual(
      diff.services?.upsert.map((s) => s.name),
      ['a', 'c'],
    );
    assert.deepEqual(diff.services?.remove, ['b']);
    assert.deepEqual(
      diff.tasks?.upsert.map((t) => t.task_id),
      ['a-task-2', 'c-task-0'],
      'the unchanged replicas of a are not sent',
    );
    assert.deepEqual(diff.tasks?.remove, ['b-task-0']);
    assert.deepEqual(
      diff.nodes?.upsert.map((n) => [n.id, n.last_heartbeat]),
      [['n2', 't2']],
    );
    assert.deepEqual(diffStates(after, after), {});
    assert.deepEqual(diffStates(EMPTY_STATE, EMPTY_STATE), {});
  });
});

/** Applies a topic change to a map of rows (what a client does). */
function applyTopic<T>(
  rows: Map<string, T>,
  change: TopicChanges<T> | undefined,
  keyOf: (row: T) => string,
): void {
  if (!change) return;
  for (const row of change.upsert) rows.set(keyOf(row), row);
  for (const id of change.remove) rows.delete(id);
}

interface ClientModel {
  services: Map<string, ServiceView>;
  tasks: Map<string, TaskView>;
  events: number[];
}

function apply(model: ClientModel, changes: StreamChanges): void {
  applyTopic(model.services, changes.services, (s) => s.name);
  applyTopic(model.tasks, changes.tasks, (t) => t.task_id);
  for (const e of changes.events ?? []) model.events.push(e.id);
}

const event = (id: number): SkiffEvent => ({
  id,
  timestamp: '2025-06-01T12:00:00.000Z',
  type: 'service',
  service: null,
  container: null,
  node: null,
  message: `e${id}`,
});

describe('merging changes', () => {
  test('a merged burst equals the changes applied one by one (300 seeded random sequences)', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const random = seededRandom(seed);
      const pick = (n: number) => Math.floor(random() * n);
      let state = buildState([], []);
      const stepwise: ClientModel = { services: new Map(), tasks: new Map(), events: [] };
      const merged: ClientModel = { services: new Map(), tasks: new Map(), events: [] };
      let burst: StreamChanges = {};
      let eventId = 0;
      const names = ['a', 'b', 'c', 'd'];
      const current = new Map<string, number>();
      for (let step = 0; step < 12; step++) {
        const name = names[pick(names.length)] ?? 'a';
        if (pick(3) === 0) current.delete(name);
        else current.set(name, pick(4));
        const next = buildState(
          [...current].map(([n, r]) => service(n, r)),
          [],
        );
        const change: StreamChanges = {
          ...diffStates(state, next),
          ...(pick(2) === 0 && { events: [event(++eventId)] }),
        };
        state = next;
        apply(stepwise, change);
        burst = mergeChanges(burst, change);
      }
      apply(merged, burst);
      assert.deepEqual(
        [...merged.services.keys()].sort(),
        [...stepwise.services.keys()].sort(),
        `seed ${seed}`,
      );
      for (const [name, view] of stepwise.services)
        assert.deepEqual(merged.services.get(name), view, `seed ${seed}`);
      assert.deepEqual(
        new Map([...merged.tasks].sort()),
        new Map([...stepwise.tasks].sort()),
        `seed ${seed}`,
      );
      assert.deepEqual(merged.events, stepwise.events, `seed ${seed}: events in order, none lost`);
    }
  });

  test('stats keep the latest sample per replica', () => {
    const sample = (task: string, cpu: number) => ({
      task_id: task,
      service: 'a',
      container: 'a-0',
      node_id: null,
      at: 't',
      cpu_percent: cpu,
      memory_bytes: 1,
      memory_limit_bytes: null,
      net_rx_bytes: null,
      net_tx_bytes: null,
    });
    const merged = mergeChanges({ stats: [sample('x', 1), sample('y', 2)] }, { stats: [sample('x', 3)] });
    assert.deepEqual(
      merged.stats?.map((s) => [s.task_id, s.cpu_percent]),
      [
        ['x', 3],
        ['y', 2],
      ],
    );
  });
});

class FakeSocket implements StreamSocket {
  bufferedAmount = 0;
  readonly sent: StreamServerMessage[] = [];
  closedWith: number | undefined;
  send(text: string): void {
    const message = parseServerMessage(text);
    assert.ok(message, `the server sent a frame of unknown shape: ${text.slice(0, 200)}`);
    this.sent.push(message);
  }
  close(code: number): void {
    this.closedWith = code;
  }
  types(): string[] {
    return this.sent.map((m) => m.type);
  }
}

function snapshotAt(seq: number) {
  return () => ({
    type: 'snapshot' as const,
    protocol: 1 as const,
    epoch: 'e1',
    seq,
    at: '2025-06-01T12:00:00.000Z',
    principal: { name: 'admin', role: 'admin' as const },
    services: [],
    tasks: [],
    nodes: [],
    events: [],
    stats: [],
  });
}

describe('a client’s pacing', () => {
  test('drained: each change is one message, versioned from the last', () => {
    const socket = new FakeSocket();
    let now = 0;
    const client = new StreamClient({ socket, snapshot: snapshotAt(5), now: () => now });
    client.start();
    client.offer({ events: [event(1)] }, 6);
    now += 100;
    client.offer({ events: [event(2)] }, 7);
    assert.deepEqual(socket.types(), ['snapshot', 'changes', 'changes']);
    const [, first, second] = socket.sent;
    assert.ok(first?.type === 'changes' && second?.type === 'changes');
    assert.deepEqual([first.from, first.seq, second.from, second.seq], [5, 6, 6, 7]);
  });

  test('not drained: changes fold into one message, sent when the socket drains', () => {
    const socket = new FakeSocket();
    const client = new StreamClient({ socket, snapshot: snapshotAt(0), now: () => 0 });
    client.start();
    socket.bufferedAmount = 10 * 1024 * 1024;
    for (let i = 1; i <= 50; i++) client.offer({ events: [event(i)] }, i);
    assert.deepEqual(socket.types(), ['snapshot']);
    socket.bufferedAmount = 0;
    client.flush();
    assert.deepEqual(socket.types(), ['snapshot', 'changes']);
    const folded = socket.sent[1];
    assert.ok(folded?.type === 'changes');
    assert.deepEqual([folded.from, folded.seq, folded.events?.length], [0, 50, 50]);
  });

  test('too far behind: the backlog is dropped, then resync and a fresh snapshot once drained', () => {
    for (const behind of ['time', 'rows'] as const) {
      const socket = new FakeSocket();
      let now = 0;
      let seq = 0;
      const client = new StreamClient({
        socket,
        snapshot: () => snapshotAt(seq)(),
        now: () => now,
        limits: { lowWaterBytes: 1024, maxPendingRows: 100, maxBehindMs: 5000 },
      });
      client.start();
      socket.bufferedAmount = 4096;
      const rows = behind === 'rows' ? 60 : 1;
      for (let i = 0; i < 3; i++) {
        now += behind === 'time' ? 3000 : 10;
        client.offer({ events: Array.from({ length: rows }, (_, k) => event(i * rows + k)) }, ++seq);
      }
      assert.deepEqual(socket.types(), ['snapshot'], behind);
      assert.equal(client.resyncs, 1, behind);
      client.offer({ events: [event(999)] }, ++seq);
      socket.bufferedAmount = 0;
      client.flush();
      assert.deepEqual(socket.types(), ['snapshot', 'resync', 'snapshot'], behind);
      const fresh = socket.sent[2];
      assert.ok(fresh?.type === 'snapshot');
      assert.equal(fresh.seq, seq, `${behind}: the fresh snapshot is the current state`);
      client.offer({ events: [event(1000)] }, ++seq);
      const after = socket.sent[3];
      assert.ok(after?.type === 'changes');
      assert.equal(after.from, seq - 1, `${behind}: changes continue from the snapshot`);
    }
  });

  test('a heartbeat after 15 s of silence, not before', () => {
    const socket = new FakeSocket();
    let now = 0;
    const client = new StreamClient({ socket, snapshot: snapshotAt(3), now: () => now });
    client.start();
    now = 14_000;
    client.heartbeat();
    assert.deepEqual(socket.types(), ['snapshot']);
    now = 15_000;
    client.heartbeat();
    assert.deepEqual(socket.types(), ['snapshot', 'heartbeat']);
  });
});

class FakeSource implements StreamSource {
  services: ServiceView[] = [];
  nodes: NodeView[] = [];
  log: SkiffEvent[] = [];
  readonly listeners = new Set<(event: SkiffEvent) => void>();
  views() {
    return { services: this.services, nodes: this.nodes };
  }
  recentEvents(limit: number): SkiffEvent[] {
    return this.log.slice(-limit);
  }
  subscribeEvents(listener: (event: SkiffEvent) => void) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  append(id: number): void {
    const e = event(id);
    this.log.push(e);
    for (const l of this.listeners) l(e);
  }
}

describe('the hub', () => {
  test('snapshot on connect, then each tick’s difference to every client; nothing when nothing changed', () => {
    const source = new FakeSource();
    source.services = [service('web', 1)];
    source.append(1);
    let now = 0;
    const hub = new StreamHub({ source, now: () => now });
    const a = new FakeSocket();
    const b = new FakeSocket();
    hub.connect(a, { name: 'admin', role: 'admin' }, () => true);
    const first = a.sent[0];
    assert.ok(first?.type === 'snapshot');
    assert.deepEqual(
      first.services.map((s) => s.name),
      ['web'],
    );
    assert.deepEqual(
      first.events.map((e) => e.id),
      [1],
    );
    now += 100;
    hub.tick();
    assert.deepEqual(a.types(), ['snapshot'], 'nothing changed: nothing sent');
    source.services = [service('web', 2)];
    source.append(2);
    now += 100;
    hub.connect(b, { name: 'viewer-token', role: 'viewer' }, () => true);
    const late = b.sent[0];
    assert.ok(late?.type === 'snapshot');
    assert.equal(late.principal.role, 'viewer');
    assert.deepEqual(
      late.events.map((e) => e.id),
      [1, 2],
      'the late snapshot holds the new event',
    );
    const toA = a.sent[1];
    assert.ok(toA?.type === 'changes', 'the refresh for b’s snapshot reached a too');
    assert.deepEqual([toA.from, toA.seq], [first.seq, late.seq]);
    assert.deepEqual(
      toA.tasks?.upsert.map((t) => t.task_id),
      ['web-task-1'],
    );
    assert.deepEqual(
      toA.events?.map((e) => e.id),
      [2],
    );
    now += 100;
    source.append(3);
    hub.tick();
    const next = b.sent[1];
    assert.ok(next?.type === 'changes');
    assert.deepEqual([next.from, next.events?.map((e) => e.id)], [late.seq, [3]]);
    hub.close();
    assert.equal(a.closedWith, STREAM_CLOSE_CODES.serverShutdown);
  });

  test('a client whose credentials end is closed with 4401; a bad client message with 4400', () => {
    const source = new FakeSource();
    let now = 0;
    let valid = true;
    const hub = new StreamHub({ source, now: () => now, revalidateMs: 5000 });
    const socket = new FakeSocket();
    hub.connect(socket, { name: 'ci', role: 'operator' }, () => valid);
    valid = false;
    now += 4000;
    hub.tick();
    assert.equal(socket.closedWith, undefined, 'not checked before the interval');
    now += 1000;
    hub.tick();
    assert.equal(socket.closedWith, STREAM_CLOSE_CODES.unauthorized);
    assert.equal(socket.sent.at(-1)?.type, 'error');
    assert.equal(hub.clients, 0);
    const other = new FakeSocket();
    const connection = hub.connect(other, { name: 'ci', role: 'operator' }, () => true);
    connection.receive('{"type":"resync"}');
    assert.deepEqual(other.types(), ['snapshot', 'resync', 'snapshot']);
    connection.receive('{"type":"subscribe"}');
    assert.equal(other.closedWith, STREAM_CLOSE_CODES.badMessage);
    hub.close();
  });
});
