import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rowRange } from './row-window.ts';

test('the rows in the viewport, plus the overscan, within the list', () => {
  // A list starting 100 px down a 500 px viewport: rows 0…10 are visible (40 px each).
  assert.deepEqual(rowRange(100, 500, 1000, 40, 0), { start: 0, end: 10 });
  assert.deepEqual(rowRange(100, 500, 1000, 40, 5), { start: 0, end: 15 });
  // Scrolled 4,000 px past the list's top: rows 100…113.
  assert.deepEqual(rowRange(-4000, 500, 1000, 40, 0), { start: 100, end: 113 });
  assert.deepEqual(rowRange(-4000, 500, 105, 40, 3), { start: 97, end: 105 });
  // A list below the viewport renders only its overscan; an empty list nothing.
  assert.deepEqual(rowRange(900, 500, 1000, 40, 2), { start: 0, end: 2 });
  assert.deepEqual(rowRange(0, 500, 0, 40, 10), { start: 0, end: 0 });
});
