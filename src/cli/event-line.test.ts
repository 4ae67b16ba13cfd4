import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatEventLine } from './event-line.ts';

test('an event is its local time in brackets, then its message', () => {
  const timestamp = new Date(2024, 0, 15, 10, 23, 45).toISOString();
  assert.equal(
    formatEventLine({ timestamp, message: 'Container api-server-2 failed health check' }),
    '[2024-01-15 10:23:45] Container api-server-2 failed health check',
  );
});
