import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lineErrors, lineSpan } from './compose-errors.ts';

test('messages are sorted to the lines of this file they name; the rest stay general', () => {
  const errors = lineErrors(
    [
      'compose.yml:4: services.web.colour: not a Compose service key',
      'compose.yml:4: services.web: ports: tcp port 80 is already published by service plain',
      'compose.yml:4: services.web.colour: not a Compose service key',
      'other.yml:2: services.x: elsewhere',
      'compose.yml:99: past the end',
      'invalid compose request: content: Required',
    ],
    'compose.yml',
    10,
  );
  assert.deepEqual(
    [...errors.byLine],
    [
      [
        4,
        [
          'services.web.colour: not a Compose service key',
          'services.web: ports: tcp port 80 is already published by service plain',
        ],
      ],
    ],
  );
  assert.deepEqual(errors.general, [
    'other.yml:2: services.x: elsewhere',
    'compose.yml:99: past the end',
    'invalid compose request: content: Required',
  ]);
});

test('a line’s span, for selecting it in the editor', () => {
  const text = 'services:\n  web:\n    image: x';
  assert.deepEqual(lineSpan(text, 1), { start: 0, end: 9 });
  assert.deepEqual(lineSpan(text, 2), { start: 10, end: 16 });
  assert.equal(text.slice(lineSpan(text, 3).start, lineSpan(text, 3).end), '    image: x');
  assert.deepEqual(lineSpan(text, 9), { start: text.length, end: text.length });
});
