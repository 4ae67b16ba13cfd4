// The pure half of bench/harness/agent-trace.ts: how a failover's engine calls are told.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TracedCall } from '../bench/harness/agent-trace.ts';
import { peakInFlight, startTimeline } from '../bench/harness/agent-trace.ts';

const call = (engine: string, op: string, start: number, end: number): TracedCall => ({
  engine,
  op,
  start,
  end,
});

test('peak in flight counts overlapping calls of one op; one ending as another begins does not overlap', () => {
  const calls = [
    call('h1', 'start', 0, 10),
    call('h1', 'start', 1, 5),
    call('h1', 'start', 5, 8),
    call('h1', 'list', 2, 3),
    call('h1', 'start', 10, 12),
  ];
  assert.equal(peakInFlight(calls, 'start'), 2);
  assert.equal(peakInFlight(calls, 'list'), 1);
  assert.equal(peakInFlight([], 'start'), 0);
});

test('the timeline is per engine, from the down: starts asked, last answered, and what else ran meanwhile', () => {
  const down = 1000;
  const calls = [
    call('lab-h2', 'start', 990, 995), // before the down: not a failover start
    call('lab-h2', 'list', 1001, 1003),
    call('lab-h2', 'start', 1010, 1500),
    call('lab-h2', 'start', 1012, 1700),
    call('lab-h2', 'list', 1501, 1502),
    call('lab-h2', 'list', 1800, 1801), // after the last answer
    call('lab-h3', 'start', 1020, 1400),
  ];
  assert.deepEqual(startTimeline(calls, down), [
    {
      engine: 'lab-h2',
      firstStartAskedMs: 10,
      lastStartAskedMs: 12,
      lastStartAnsweredMs: 700,
      starts: 2,
      peakStarts: 2,
      others: { list: 2 },
    },
    {
      engine: 'lab-h3',
      firstStartAskedMs: 20,
      lastStartAskedMs: 20,
      lastStartAnsweredMs: 400,
      starts: 1,
      peakStarts: 1,
      others: {},
    },
  ]);
});
