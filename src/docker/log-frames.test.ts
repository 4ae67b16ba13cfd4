import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LogFrameDecoder } from './log-frames.ts';

function frame(type: number, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = type;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

test('decodes stdout and stderr lines with their timestamps', () => {
  const decoder = new LogFrameDecoder();
  const entries = decoder.push(
    Buffer.concat([frame(1, '2024-01-15T10:23:45.1Z hello\n'), frame(2, '2024-01-15T10:23:46.2Z oops\n')]),
  );
  assert.deepEqual(entries, [
    { at: '2024-01-15T10:23:45.1Z', stream: 'stdout', text: 'hello' },
    { at: '2024-01-15T10:23:46.2Z', stream: 'stderr', text: 'oops' },
  ]);
});

test('frames split across chunks and lines split across frames come out whole', () => {
  const decoder = new LogFrameDecoder();
  const bytes = Buffer.concat([
    frame(1, '2024-01-15T10:23:45Z par'),
    frame(1, 'tial\n2024-01-15T10:23:46Z tail'),
  ]);
  const out = [
    ...decoder.push(bytes.subarray(0, 5)),
    ...decoder.push(bytes.subarray(5, 30)),
    ...decoder.push(bytes.subarray(30)),
  ];
  assert.deepEqual(out, [{ at: '2024-01-15T10:23:45Z', stream: 'stdout', text: 'partial' }]);
  assert.deepEqual(decoder.flush(), [{ at: '2024-01-15T10:23:46Z', stream: 'stdout', text: 'tail' }]);
});
