/**
 * The follower against the real store, cluster, broker and controller (the API fixture), with
 * the fixture's fake agent links recording the log requests the server sends.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { createFixture, type FakeNode, type Fixture } from '../api/test-fixture.ts';
import type { LogLine } from '../model/views.ts';
import type { ServerMessage } from '../protocol/messages.ts';
import { ServiceLogFollower } from './service-log-follower.ts';

type LogStart = Extract<ServerMessage, { type: 'logs.start' }>;

let f: Fixture;
let lines: LogLine[];
let ended: boolean;
let follower: ServiceLogFollower;

beforeEach(() => {
  f = createFixture();
  lines = [];
  ended = false;
});
afterEach(() => {
  follower?.stop();
  f.close();
});

function follow(request = { tail: 5, since: null, follow: true }): void {
  follower = new ServiceLogFollower({
    service: 'web',
    request,
    store: f.store,
    cluster: f.cluster,
    logs: f.logs,
    events: f.events,
    onLines: (batch) => lines.push(...batch),
    onEnd: () => {
      ended = true;
    },
  });
  follower.start();
}

const starts = (node: FakeNode) => node.sent.filter((m): m is LogStart => m.type === 'logs.start');

/** The agent's report: each assigned task running in the container named, restarted `restarts` times. */
function report(node: FakeNode, containers: Record<number, string>, restarts = 0): void {
  const tasks = node.lastAssign()?.tasks ?? [];
  f.controller.applyReport(node.id, {
    type: 'report',
    generation: 1,
    full: true,
    removed: [],
    events: [
      { type: 'container', service: 'web', container: 'web-0', node: null, message: 'started', at: f.clock },
    ],
    tasks: tasks.map((t) => ({
      task_id: t.task_id,
      state: 'running',
      container_id: containers[t.slot] ?? null,
      health: 'none',
      message: null,
      exit_code: null,
      restart_count: restarts,
      ports: [],
      retry_at: null,
      ready_since: 0,
      ip: null,
    })),
  });
}

const chunk = (start: LogStart, ...texts: [string, string][]) =>
  f.logs.chunk(
    start.request_id,
    texts.map(([at, text]) => ({ at, stream: 'stdout' as const, text })),
  );

/** Lets the follower's deferred pass (after an event) run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 5));

test('nothing placed yet: it waits, and a replica placed later joins with all its lines', async () => {
  await f.call('POST', '/api/deploy', { name: 'web', image: 'x:1', replicas: 1 });
  follow();
  assert.equal(ended, false, 'no replica is no reason to stop');
  const a = f.connectNode('a');
  f.controller.sync();
  assert.deepEqual(starts(a), [], 'assigned but no container yet: nothing to stream');
  report(a, { 0: 'c-first' });
  await settle();
  const [start] = starts(a);
  assert.ok(start, 'the new replica is streamed');
  assert.deepEqual(start.request, { tail: null, since: null, follow: true }, 'a new replica, shown whole');
  chunk(start, ['2025-06-01T12:00:00.5Z', 'hello']);
  assert.deepEqual(
    lines.map((l) => `${l.container} | ${l.line}`),
    ['web-0 | hello'],
  );
});

test('a replacement container of the same replica joins the same stream, without repeats', async () => {
  const a = f.connectNode('a');
  await f.call('POST', '/api/deploy', { name: 'web', image: 'x:1', replicas: 1 });
  report(a, { 0: 'c-old' });
  follow();
  const [first] = starts(a);
  assert.ok(first);
  assert.equal(first.request.tail, 5, "the replicas of the first moment get the asker's tail");
  chunk(first, ['2025-06-01T12:00:01.1Z', 'old one'], ['2025-06-01T12:00:01.25Z', 'old two']);
  f.logs.end(first.request_id, null); // the container died
  report(a, { 0: 'c-new' }, 1);
  await settle();
  const [, second] = starts(a);
  assert.ok(second, 'the replacement is streamed');
  assert.deepEqual(second.request, {
    tail: null,
    since: Math.floor(Date.parse('2025-06-01T12:00:01Z') / 1000),
    follow: true,
  });
  // From that second on: what was shown already is not shown again.
  chunk(second, ['2025-06-01T12:00:01.25Z', 'old two'], ['2025-06-01T12:00:02Z', 'new one']);
  assert.deepEqual(
    lines.map((l) => l.line),
    ['old one', 'old two', 'new one'],
  );
});

test('a stream still open is not opened twice; an ended one with nothing new is left alone', async () => {
  const a = f.connectNode('a');
  await f.call('POST', '/api/deploy', { name: 'web', image: 'x:1', replicas: 2 });
  report(a, { 0: 'c0', 1: 'c1' });
  follow();
  assert.equal(starts(a).length, 2);
  report(a, { 0: 'c0', 1: 'c1' });
  await settle();
  assert.equal(starts(a).length, 2, 'both still open');
  const c1 = starts(a).find((s) => s.task_id === a.lastAssign()?.tasks.find((t) => t.slot === 1)?.task_id);
  assert.ok(c1);
  f.logs.end(c1.request_id, null);
  report(a, { 0: 'c0', 1: 'c1' });
  await settle();
  assert.equal(starts(a).length, 2, 'the same container, not restarted: nothing new to show');
  report(a, { 0: 'c0', 1: 'c1' }, 1);
  await settle();
  assert.equal(starts(a).length, 3, 'restarted in place: streamed again');
});

test('a scale-up joins the stream', async () => {
  const a = f.connectNode('a');
  await f.call('POST', '/api/deploy', { name: 'web', image: 'x:1', replicas: 1 });
  report(a, { 0: 'c0' });
  follow();
  await f.call('POST', '/api/services/web/scale', { replicas: 2 });
  report(a, { 0: 'c0', 1: 'c1' });
  await settle();
  assert.deepEqual(
    starts(a)
      .map((s) => s.request.tail)
      .sort(),
    [5, null],
    'the new replica is shown whole, the first one with the tail',
  );
});

test('following ends when the service is deleted', async () => {
  f.connectNode('a');
  await f.call('POST', '/api/deploy', { name: 'web', image: 'x:1', replicas: 1 });
  follow();
  await f.call('DELETE', '/api/services/web');
  await settle();
  // The deletion's event triggers a pass; the once-a-second pass would get there too.
  assert.equal(ended, true);
});

test('an agent back on a new connection (the old one never seen to drop) is streamed again', async () => {
  const a = f.connectNode('a');
  await f.call('POST', '/api/deploy', { name: 'web', image: 'x:1', replicas: 1 });
  report(a, { 0: 'c0' });
  follow();
  const [first] = starts(a);
  assert.ok(first);
  chunk(first, ['2025-06-01T12:00:03Z', 'before']);
  const again = f.connectNode('a');
  f.controller.sync();
  report(again, { 0: 'c0' });
  await settle();
  const [resumed] = starts(again);
  assert.ok(resumed, 'a request over the new connection');
  assert.equal(resumed.request.since, Math.floor(Date.parse('2025-06-01T12:00:03Z') / 1000));
  chunk(resumed, ['2025-06-01T12:00:03Z', 'before'], ['2025-06-01T12:00:04Z', 'after']);
  assert.deepEqual(
    lines.map((l) => l.line),
    ['before', 'after'],
  );
});

test('a node that disconnects cuts the stream; back, it is streamed again', async () => {
  const a = f.connectNode('a');
  await f.call('POST', '/api/deploy', { name: 'web', image: 'x:1', replicas: 1 });
  report(a, { 0: 'c0' });
  follow();
  assert.equal(starts(a).length, 1);
  f.logs.nodeGone('a');
  const again = f.connectNode('a');
  f.controller.sync();
  report(again, { 0: 'c0' });
  await settle();
  assert.equal(starts(again).length, 1);
});
