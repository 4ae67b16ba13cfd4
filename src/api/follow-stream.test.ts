/**
 * Slow followers of `/api/events?follow=true`: one that stops reading is cut off with a last line
 * saying why once it is more than 1 MiB behind (or 5 s), and the server stops holding its events.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StreamingApi } from 'hono/utils/stream';
import { eventually } from '../../test/support/eventually.ts';
import { FollowStream } from './follow-stream.ts';
import { createFixture } from './test-fixture.ts';

test('a follower that stops reading is cut off past 1 MiB behind, with a last line saying so', async () => {
  const f = createFixture();
  try {
    const response = await f.app.request('/api/events?follow=true', {
      headers: { authorization: 'Bearer test-admin-token-0123456789' },
    });
    assert.equal(response.status, 200);
    const reader = response.body?.getReader();
    assert.ok(reader);
    // The reader reads nothing while 4 MiB of events are appended.
    const message = 'x'.repeat(4000);
    for (let i = 0; i < 1000; i++) {
      f.events.append({ type: 'service', service: 'web', container: null, node: null, message }, f.clock);
      await new Promise((resolve) => setImmediate(resolve));
    }
    let text = '';
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    const lines = text.trim().split('\n');
    const last = JSON.parse(lines.at(-1) ?? '{}') as { error?: string };
    assert.match(last.error ?? '', /event stream ended: the reader fell more than 1024 KiB behind/);
    assert.ok(lines.length < 400, `${lines.length} lines were held for the slow reader, not all 1000`);
  } finally {
    f.close();
  }
});

test('a follower that reads keeps up and is never cut off', async () => {
  const f = createFixture();
  try {
    const response = await f.app.request('/api/events?follow=true', {
      headers: { authorization: 'Bearer test-admin-token-0123456789' },
    });
    const reader = response.body?.getReader();
    assert.ok(reader);
    let seen = 0;
    let cut = false;
    const decoder = new TextDecoder();
    const reading = (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        const text = decoder.decode(value);
        seen += text.split('\n').filter((l) => l.includes('"message"')).length;
        if (text.includes('stream ended')) cut = true;
      }
    })();
    const message = 'y'.repeat(4000);
    for (let i = 0; i < 600; i++) {
      f.events.append({ type: 'service', service: 'web', container: null, node: null, message }, f.clock);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await eventually('every event read', () => seen >= 600, { timeoutMs: 5000, intervalMs: 10 });
    assert.equal(cut, false);
    await reader.cancel();
    await reading;
  } finally {
    f.close();
  }
});

test('a follower whose oldest unread line is more than 5 s old is cut off, however little it holds', () => {
  let clock = 0;
  const written: string[] = [];
  let closed = false;
  const out = {
    write: (text: string) => {
      written.push(text);
      return new Promise(() => {}); // never taken by the reader
    },
    close: () => {
      closed = true;
      return Promise.resolve();
    },
  } as unknown as StreamingApi;
  const reasons: string[] = [];
  const follower = new FollowStream(out, {
    now: () => clock,
    finalLine: (reason) => `ended: ${reason}\n`,
    onCutOff: (reason) => reasons.push(reason),
  });
  follower.write('one\n');
  clock = 5000;
  follower.write('two\n');
  assert.deepEqual(reasons, []);
  clock = 5001;
  follower.write('three\n');
  assert.deepEqual(reasons, ['the reader fell more than 5s behind']);
  assert.deepEqual(written, ['one\n', 'two\n', 'ended: the reader fell more than 5s behind\n']);
  follower.write('four\n');
  assert.equal(written.length, 3, 'nothing more once cut off');
  follower.stop();
  assert.equal(closed, false, 'closed once the last line is taken');
});
