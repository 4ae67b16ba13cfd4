import assert from 'node:assert/strict';
import { test } from 'node:test';
import { usageFigures } from './usage-figures.ts';

const cores = (m: number) => `${m / 1000}`;

test('reserved, the host’s own usage and its replicas’ share, in words and shares of capacity', () => {
  const f = usageFigures({ capacity: 4000, allocated: 1000, host: 3000, replicas: 500 }, cores);
  assert.equal(f.text, '1 reserved of 4, host uses 3 (75%), replicas 0.5');
  assert.deepEqual(
    [f.allocatedPercent, f.hostPercent, f.replicasPercent, f.overCapacity],
    [25, 75, 12.5, false],
  );
});

test('nothing reported yet says so; a host over capacity is capped on the bar and flagged', () => {
  assert.equal(
    usageFigures({ capacity: 4000, allocated: 0, host: undefined, replicas: undefined }, cores).text,
    '0 reserved of 4, usage not reported yet',
  );
  const over = usageFigures({ capacity: 1000, allocated: 0, host: 1500, replicas: undefined }, cores);
  assert.deepEqual([over.hostPercent, over.overCapacity], [100, true]);
  assert.equal(usageFigures({ capacity: 0, allocated: 0, host: 5, replicas: 5 }, cores).hostPercent, 0);
});
