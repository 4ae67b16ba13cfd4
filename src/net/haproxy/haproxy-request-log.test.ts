import assert from 'node:assert/strict';
import { test } from 'node:test';
import { haproxyName } from './haproxy-config.ts';
import { LineSplitter, parseRequestLine } from './haproxy-request-log.ts';

test('a log line is the frontend, the status sent and the active time in seconds', () => {
  assert.deepEqual(parseRequestLine(`${haproxyName('web@default:8080')} 200 12`), {
    name: 'r_web_default:8080',
    status: 200,
    seconds: 0.012,
  });
  assert.deepEqual(parseRequestLine('r_api:80 503 0'), { name: 'r_api:80', status: 503, seconds: 0 });
  // -1: nothing was sent (the client went away first), the built-in proxy's undefined.
  assert.deepEqual(parseRequestLine('r_api:80 -1 2500'), {
    name: 'r_api:80',
    status: undefined,
    seconds: 2.5,
  });
});

test('a line that is not one of ours is no request', () => {
  for (const line of [
    '',
    'r_api:80',
    'r_api:80 200',
    ' 200 3',
    'r_api:80 ok 3',
    'r_api:80 200 -4',
    'r_api:80 200 ',
    'x 2.5 3',
  ])
    assert.equal(parseRequestLine(line), undefined, JSON.stringify(line));
});

test('chunks are cut into whole lines, a line split across chunks included', () => {
  const splitter = new LineSplitter();
  assert.deepEqual(splitter.push('r_a 200 1\nr_b 2'), ['r_a 200 1']);
  assert.deepEqual(splitter.push('04 7'), []);
  assert.deepEqual(splitter.push('\nr_c 500 3\n\n'), ['r_b 204 7', 'r_c 500 3', '']);
  assert.deepEqual(splitter.push(''), []);
});

test('an overlong line is dropped whole, however it arrives, and the stream goes on', () => {
  const splitter = new LineSplitter(16);
  assert.deepEqual(splitter.push('x'.repeat(10)), []);
  assert.deepEqual(splitter.push('y'.repeat(10)), []);
  assert.deepEqual(splitter.push('z'.repeat(30)), []);
  assert.deepEqual(splitter.push('tail\nr_a 200 1\n'), ['r_a 200 1']);
  assert.deepEqual(splitter.push(`${'w'.repeat(20)}\nr_b 200 2\n`), ['r_b 200 2']);
});
