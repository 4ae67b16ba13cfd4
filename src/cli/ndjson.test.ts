import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readLines } from './ndjson.ts';

async function* arriving(chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* chunks;
}

async function linesOf(chunks: Uint8Array[]): Promise<string[]> {
  const lines: string[] = [];
  for await (const line of readLines(arriving(chunks))) lines.push(line);
  return lines;
}

test('reassembles lines across chunks, keeps split characters, skips blank lines', async () => {
  const bytes = new TextEncoder().encode('{"a":1}\r\n\n{"b":"é"}\n{"c":3}');
  const split = bytes.indexOf(0xa9); // inside the two bytes of "é"
  assert.deepEqual(await linesOf([bytes.slice(0, 3), bytes.slice(3, split), bytes.slice(split)]), [
    '{"a":1}',
    '{"b":"é"}',
    '{"c":3}',
  ]);
});
