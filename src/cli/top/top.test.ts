/**
 * `skiff top`'s pure core: stream messages into state (a gap asks for a resync), keys into state
 * and effects (move, panes, filter as typed, scale and roll back prompts, logs, quit; a viewer is
 * not offered actions), the screen (exactly the terminal's size, the selection visible), the
 * plain output, and the key decoder.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ChangesMessage, SnapshotMessage, TaskView } from '../../api/stream/messages.ts';
import type { NodeView, ServiceView } from '../../model/views.ts';
import { replica, serviceView } from '../service-view-fixture.ts';
import { decodeKeys } from './top-keys.ts';
import { plainChangeLines, plainSnapshot, render } from './top-render.ts';
import type { Key, TopState } from './top-state.ts';
import {
  applyKey,
  applyMessage,
  initialState,
  KEYS,
  logLines,
  selectedService,
  visibleReplicas,
} from './top-state.ts';

function service(name: string, replicas: number): ServiceView {
  return serviceView({
    name,
    replicas,
    containers: Array.from({ length: replicas }, (_, slot) =>
      replica({ slot, name: `${name}-${slot}`, task_id: `${name}-t${slot}` }),
    ),
  });
}

const tasksOf = (services: ServiceView[]): TaskView[] =>
  services.flatMap((s) => s.containers.map((c) => ({ ...c, service: s.name })));

const NODE: NodeView = {
  id: 'node-1',
  name: 'node-1',
  status: 'ready',
  availability: 'active',
  address: '10.0.0.1',
  labels: {},
  engine_version: '27.0.0',
  cpu_millicores: 4000,
  memory_bytes: 8 * 1024 ** 3,
  allocated_cpu_millicores: 500,
  allocated_memory_bytes: 256 * 1024 ** 2,
  containers: 3,
  joined_at: '2025-06-01T12:00:00.000Z',
  last_heartbeat: null,
  message: null,
};

function snapshot(services: ServiceView[], role: 'admin' | 'viewer' = 'admin', seq = 4): SnapshotMessage {
  return {
    type: 'snapshot',
    protocol: 1,
    epoch: 'e1',
    seq,
    at: '2025-06-01T12:00:00.000Z',
    principal: { name: role === 'admin' ? 'admin' : 'watcher', role },
    services,
    tasks: tasksOf(services),
    nodes: [NODE],
    events: [
      {
        id: 1,
        timestamp: '2025-06-01T12:00:00.000Z',
        type: 'service',
        service: 'api',
        container: null,
        node: null,
        message: 'Service api created',
      },
    ],
    stats: [
      {
        task_id: 'web-t1',
        service: 'web',
        container: 'web-1',
        node_id: 'node-1',
        at: '2025-06-01T12:00:00.000Z',
        cpu_percent: 12.5,
        memory_bytes: 48 * 1024 * 1024,
        memory_limit_bytes: null,
        net_rx_bytes: null,
        net_tx_bytes: null,
      },
    ],
  };
}

const loaded = (role: 'admin' | 'viewer' = 'admin'): TopState =>
  applyMessage(initialState(), snapshot([service('api', 2), service('web', 3)], role)).state;

function press(state: TopState, ...keys: Key[]) {
  let current = state;
  const effects = [];
  for (const key of keys) {
    const outcome = applyKey(current, key);
    current = outcome.state;
    if (outcome.effect) effects.push(outcome.effect);
  }
  return { state: current, effects };
}

describe('stream into state', () => {
  test('a snapshot replaces everything; changes apply from the last seq; a gap asks for a resync', () => {
    const state = loaded();
    assert.equal(state.connection, 'live');
    assert.deepEqual([...state.services.keys()], ['api', 'web']);
    const change: ChangesMessage = {
      type: 'changes',
      epoch: 'e1',
      from: 4,
      seq: 5,
      at: '2025-06-01T12:00:01.000Z',
      services: { upsert: [service('web', 4)], remove: ['api'] },
      tasks: { upsert: tasksOf([service('web', 4)]).slice(3), remove: ['api-t0', 'api-t1'] },
    };
    const next = applyMessage(state, change);
    assert.equal(next.resync, false);
    assert.deepEqual([...next.state.services.keys()], ['web']);
    assert.equal(next.state.tasks.size, 4);
    assert.equal(next.state.seq, 5);
    // The same change again, or one from another epoch, does not follow: resync.
    assert.equal(applyMessage(next.state, change).resync, true);
    assert.equal(applyMessage(next.state, { ...change, from: 5, seq: 6, epoch: 'e2' }).resync, true);
    assert.equal(applyMessage(next.state, change).state, next.state, 'the state is kept until the snapshot');
  });

  test('removing the selected row keeps the selection inside the list', () => {
    const state = press(loaded(), 'j').state;
    assert.equal(selectedService(state)?.name, 'web');
    const gone = applyMessage(state, {
      type: 'changes',
      epoch: 'e1',
      from: 4,
      seq: 5,
      at: 't',
      services: { upsert: [], remove: ['web'] },
    }).state;
    assert.equal(selectedService(gone)?.name, 'api');
  });
});

describe('keys', () => {
  test('moving selects a service, and the replicas pane follows it', () => {
    const state = loaded();
    assert.deepEqual(
      visibleReplicas(state).map((t) => t.name),
      ['api-0', 'api-1'],
    );
    const down = press(state, KEYS.down).state;
    assert.deepEqual(
      visibleReplicas(down).map((t) => t.name),
      ['web-0', 'web-1', 'web-2'],
    );
    assert.equal(press(down, KEYS.down, KEYS.down).state.selected.services, 1, 'the end of the list holds');
    assert.equal(press(down, 'k', 'k').state.selected.services, 0);
    const panes = press(state, KEYS.tab, KEYS.tab).state.focus;
    assert.equal(panes, 'nodes');
    assert.equal(press(state, KEYS.backTab).state.focus, 'events');
    assert.equal(press(state, '2').state.focus, 'replicas');
  });

  test('/ filters as it is typed; enter keeps it, escape clears it', () => {
    const typed = press(loaded(), '/', 'w', 'e');
    assert.equal(selectedService(typed.state)?.name, 'web');
    const kept = press(typed.state, KEYS.enter).state;
    assert.equal(kept.prompt, undefined);
    assert.equal(kept.filter, 'we');
    assert.equal(press(kept, KEYS.escape).state.filter, '');
  });

  test('s asks for a count and scales the selected service; only digits are taken', () => {
    const { state, effects } = press(loaded(), 'j', 's', '1', 'x', '2', KEYS.backspace, '0', KEYS.enter);
    assert.deepEqual(effects, [{ type: 'scale', service: 'web', replicas: 10 }]);
    assert.match(state.status, /scaling web to 10/);
    assert.deepEqual(press(loaded(), 's', KEYS.escape).effects, []);
    assert.deepEqual(press(loaded(), 's', KEYS.enter).effects, [], 'no count, no scale');
  });

  test('r asks before rolling back; anything but y cancels', () => {
    assert.deepEqual(press(loaded(), 'r', 'y').effects, [{ type: 'rollback', service: 'api' }]);
    const cancelled = press(loaded(), 'r', 'n');
    assert.deepEqual(cancelled.effects, []);
    assert.match(cancelled.state.status, /cancelled/);
  });

  test('a viewer is told it may not scale or roll back, and no effect follows', () => {
    const viewer = loaded('viewer');
    for (const key of ['s', 'r']) {
      const { state, effects } = press(viewer, key, '3', KEYS.enter);
      assert.deepEqual(effects, []);
      assert.match(state.status, /viewer: it may not/);
    }
  });

  test('l follows the service’s logs (one replica’s from the replicas pane); q goes back, then quits', () => {
    const service = press(loaded(), 'l');
    assert.deepEqual(service.effects, [{ type: 'follow-logs', service: 'api', replica: undefined }]);
    const replicaLogs = press(loaded(), '2', 'j', 'l');
    assert.deepEqual(replicaLogs.effects, [{ type: 'follow-logs', service: 'api', replica: 'api-1' }]);
    const withLines = logLines(replicaLogs.state, 'api', ['api-1 | hello']);
    assert.deepEqual(withLines.logs?.lines, ['api-1 | hello']);
    const back = press(withLines, 'q');
    assert.deepEqual(back.effects, [{ type: 'stop-logs' }]);
    assert.equal(back.state.logs, undefined);
    assert.deepEqual(press(back.state, 'q').effects, [{ type: 'quit' }]);
    assert.deepEqual(
      press(loaded(), '/', KEYS.interrupt).effects,
      [{ type: 'quit' }],
      'ctrl-c quits from anywhere',
    );
  });
});

describe('the screen', () => {
  const screen = { columns: 100, rows: 30, colour: false, server: 'http://127.0.0.1:8080' };

  test('is exactly the terminal’s size, with every pane and the selected service marked', () => {
    const lines = render(press(loaded(), 'j').state, screen, Date.parse('2025-06-01T12:00:00Z'));
    assert.equal(lines.length, 30);
    assert.ok(
      lines.every((l) => [...l].length <= 100),
      lines.find((l) => [...l].length > 100) ?? '',
    );
    const text = lines.join('\n');
    assert.match(lines[0] ?? '', /skiff top {2}http:\/\/127\.0\.0\.1:8080 {2}\[live\] {2}admin \(admin\)/);
    assert.match(text, /▶ SERVICES \(2\)/);
    assert.match(text, /> web +running +3\/3 +healthy +myapp:latest/);
    assert.match(text, /REPLICAS of web \(3\)/);
    assert.match(text, /web-1 +running +healthy +node-1 +0 +1 +12\.5% +48Mi/, 'the replica’s latest sample');
    assert.match(text, /web-0 +running +healthy +node-1 +0 +1 +- +-/, 'no sample yet');
    assert.match(text, /NODES \(1\)/);
    assert.match(text, /node-1 +ready +active +0\.5\/4 /);
    assert.match(text, /EVENTS \(1, newest first\)/);
    assert.match(lines.at(-1) ?? '', /q quit/);
  });

  test('a small terminal still gets exactly its size; a long list scrolls to the selection', () => {
    const many = applyMessage(
      initialState(),
      snapshot(Array.from({ length: 40 }, (_, i) => service(`svc-${String(i).padStart(2, '0')}`, 1))),
    ).state;
    const selected = press(many, ...Array(35).fill('j')).state;
    const small = render(selected, { ...screen, rows: 12, columns: 40 }, 0);
    assert.equal(small.length, 12);
    const tall = render(selected, screen, 0).join('\n');
    assert.match(tall, /> svc-35/);
    assert.ok(!tall.includes('svc-00'), 'scrolled past the top');
  });

  test('prompts and the connection state show', () => {
    const scaling = press(loaded(), 's', '4').state;
    assert.match(render(scaling, screen, 0).join('\n'), /scale api \(now 2\) to: 4_/);
    const reconnecting = {
      ...loaded(),
      connection: 'reconnecting' as const,
      connectionNote: 'connect ECONNREFUSED',
    };
    assert.match(render(reconnecting, screen, 0)[0] ?? '', /\[reconnecting: connect ECONNREFUSED\]/);
  });

  test('plain output: every service with its replicas, nodes and events; change lines name replicas', () => {
    const state = loaded();
    const text = plainSnapshot(state).join('\n');
    assert.match(text, /^SERVICES \(2\)\nNAME +STATUS/);
    assert.match(text, /REPLICAS of api \(2\)/);
    assert.match(text, /REPLICAS of web \(3\)/);
    assert.ok(!text.includes('\u001b'), 'no escape codes');
    const lines = plainChangeLines(
      {
        type: 'changes',
        epoch: 'e1',
        from: 4,
        seq: 5,
        at: 't',
        services: { upsert: [service('web', 1)], remove: [] },
        tasks: { upsert: [], remove: ['web-t2'] },
      },
      state,
    );
    assert.deepEqual(lines, ['service web running 1/1 healthy', 'replica web-2 gone']);
  });
});

test('keys from raw terminal input', () => {
  assert.deepEqual(decodeKeys('\u001b[A\u001b[Bjk'), ['up', 'down', 'j', 'k']);
  assert.deepEqual(decodeKeys('\t\u001b[Z\r\u007f\u0003'), [
    'tab',
    'backtab',
    'enter',
    'backspace',
    'ctrl-c',
  ]);
  assert.deepEqual(decodeKeys('\u001b'), ['escape']);
  assert.deepEqual(decodeKeys('\u001b[15~s'), ['s'], 'an unknown sequence is dropped whole');
  assert.deepEqual(decodeKeys('\u001b[5~\u001b[6~'), ['pageup', 'pagedown']);
  assert.deepEqual(decodeKeys('/we'), ['/', 'w', 'e']);
});
