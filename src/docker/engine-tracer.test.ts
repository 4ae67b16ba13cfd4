import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ContainerEngine } from './container-engine.ts';
import { EngineError } from './container-engine.ts';
import type { EngineCall } from './engine-tracer.ts';
import { EngineTracer, engineTraceFile, tracedEngine } from './engine-tracer.ts';

const ID = 'a'.repeat(64);

/** The few methods these tests call; the tracer passes every other one through untouched. */
function fakeEngine(): ContainerEngine {
  return {
    address: 'unix:///run/fake.sock',
    async startContainer(id: string) {
      if (id === 'missing') throw new EngineError('start missing: no such container', 404);
    },
    async createContainer() {
      return ID;
    },
    async listManaged() {
      return [{ state: 'running' }, { state: 'created' }];
    },
    async listNetworks() {
      return ['n1'];
    },
  } as unknown as ContainerEngine;
}

test('a traced call is recorded with its op, what it was about, and when it began and ended', async () => {
  const calls: EngineCall[] = [];
  let clock = 0;
  const engine = tracedEngine(
    fakeEngine(),
    (call) => calls.push(call),
    () => clock++,
  );
  await engine.startContainer(ID);
  assert.equal(await engine.createContainer({ name: 'web-0.x.0' } as never), ID);
  await engine.listManaged('c1');
  assert.deepEqual(calls, [
    { op: 'start', start: 0, end: 1, target: 'aaaaaaaaaaaa' },
    { op: 'create', start: 2, end: 3, target: 'web-0.x.0' },
    { op: 'list', start: 4, end: 5, target: 'c1', detail: '2 listed, 1 running' },
  ]);
});

test('a call that throws is recorded with its error and still throws', async () => {
  const calls: EngineCall[] = [];
  const engine = tracedEngine(
    fakeEngine(),
    (call) => calls.push(call),
    () => 7,
  );
  await assert.rejects(engine.startContainer('missing'), EngineError);
  assert.deepEqual(calls, [
    { op: 'start', start: 7, end: 7, target: 'missing', error: 'start missing: no such container' },
  ]);
});

test('calls not worth timing and plain properties pass straight through', async () => {
  const tracer = new EngineTracer(fakeEngine());
  assert.deepEqual(await tracer.engine.listNetworks('c1'), ['n1']);
  assert.equal((tracer.engine as unknown as { address: string }).address, 'unix:///run/fake.sock');
  assert.deepEqual(tracer.take(), []);
  await tracer.engine.startContainer(ID);
  assert.equal(tracer.take().length, 1);
  assert.deepEqual(tracer.take(), []);
});

test('the trace file gets one JSON line per call, named by engine, in epoch ms', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'engine-trace-'));
  try {
    const file = join(dir, 'trace.jsonl');
    const engine = engineTraceFile(fakeEngine(), file, 'lab-h1');
    const before = Date.now();
    await engine.startContainer(ID);
    await engine.listManaged('c1');
    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    assert.deepEqual(
      lines.map((l) => [l.engine, l.op, l.target]),
      [
        ['lab-h1', 'start', 'aaaaaaaaaaaa'],
        ['lab-h1', 'list', 'c1'],
      ],
    );
    for (const line of lines) {
      assert.ok(line.start >= before - 1 && line.start <= Date.now() + 1, `epoch ms: ${line.start}`);
      assert.ok(line.end >= line.start);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
