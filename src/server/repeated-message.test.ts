/** An agent's counters sent again unchanged are skipped; anything else is read. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RepeatedMessage } from './repeated-message.ts';

test('the same text of the type, once handled, is a repeat; a changed one, another type or an unhandled one is not', () => {
  const metrics = new RepeatedMessage('agent.metrics');
  const text = JSON.stringify({ type: 'agent.metrics', counters: [{ name: 'a', value: 1 }], histograms: [] });
  const first = metrics.digestOf(text);
  assert.equal(metrics.isRepeat(first), false, 'never seen');
  assert.equal(metrics.isRepeat(metrics.digestOf(text)), false, 'seen but not handled (bad, or it threw)');
  metrics.handled(first);
  assert.equal(metrics.isRepeat(metrics.digestOf(text)), true);
  const changed = text.replace('"value":1', '"value":2');
  assert.equal(metrics.isRepeat(metrics.digestOf(changed)), false);
  metrics.handled(metrics.digestOf(changed));
  assert.equal(metrics.isRepeat(metrics.digestOf(text)), false, 'only the last text is remembered');
  assert.equal(metrics.digestOf('{"type":"heartbeat"}'), undefined, 'another type is never a repeat');
  assert.equal(metrics.isRepeat(undefined), false);
});
