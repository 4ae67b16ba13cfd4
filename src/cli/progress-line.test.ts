import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProgressLine } from './progress-line.ts';

function recorder(isTTY: boolean, columns = 80) {
  const written: string[] = [];
  return { written, stream: { isTTY, columns, write: (text: string) => written.push(text) } };
}

test('on a terminal, one line rewritten in place, cut to the width, erased at the end', () => {
  const { written, stream } = recorder(true, 20);
  const progress = new ProgressLine(stream);
  progress.update('waiting: 1/3');
  progress.update('waiting: 1/3');
  progress.update('waiting for api-server: 2/3 running');
  progress.clear();
  assert.deepEqual(written, ['\r\x1b[2Kwaiting: 1/3', '\r\x1b[2Kwaiting for api-se…', '\r\x1b[2K']);
});

test('elsewhere, a new line only when the text changes, and nothing to erase', () => {
  const { written, stream } = recorder(false);
  const progress = new ProgressLine(stream);
  progress.update('a');
  progress.update('a');
  progress.update('b');
  progress.clear();
  assert.deepEqual(written, ['a\n', 'b\n']);
});
