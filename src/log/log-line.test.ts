import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyLine, formatTextRecord } from './log-line.ts';
import { createLogger, lineLogger } from './logger.ts';

test('a line’s wording gives its level, component and fields', () => {
  assert.deepEqual(classifyLine('dns: listening on 10.240.0.1:53'), {
    level: 'info',
    component: 'dns',
    msg: 'listening on 10.240.0.1:53',
    fields: {},
  });
  assert.equal(classifyLine('error: this host overlaps the pool').level, 'error');
  assert.equal(classifyLine('error: this host overlaps the pool').msg, 'this host overlaps the pool');
  assert.equal(classifyLine('server refused this node: name taken').level, 'warn');
  assert.deepEqual(classifyLine('agent n1: ignoring a message of unknown type "x"').fields, { node: 'n1' });
  assert.equal(classifyLine('registered as n1').level, 'info');
});

test('JSON lines carry time, level, component, msg and fields', () => {
  const lines: string[] = [];
  const log = lineLogger(
    createLogger({ format: 'json', level: 'info', write: (l) => lines.push(l) }),
    'agent',
  );
  log('agent n1: dropped a report message: too big');
  log('dns: listening on 10.240.0.1:53');
  const [first, second] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(typeof first?.time, 'string');
  assert.ok(!Number.isNaN(Date.parse(String(first?.time))));
  assert.deepEqual(
    { ...first, time: undefined },
    {
      time: undefined,
      level: 'warn',
      component: 'agent',
      node: 'n1',
      msg: 'dropped a report message: too big',
    },
  );
  assert.equal(second?.component, 'dns');
  assert.equal(
    lines.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n')),
    true,
  );
});

test('--log-level drops what is below it; text lines read as TIME LEVEL component: message', () => {
  const lines: string[] = [];
  const log = lineLogger(
    createLogger({ format: 'text', level: 'warn', write: (l) => lines.push(l) }),
    'server',
  );
  log('skiff server listening on 0.0.0.0:8080');
  log('error: the store is locked');
  assert.equal(lines.length, 1);
  assert.match(lines[0] ?? '', /^\d{4}-\d\d-\d\dT\S+Z ERROR server: the store is locked\n$/);
  assert.equal(
    formatTextRecord({ time: 't', level: 'warn', component: 'gateway', msg: 'm', node: 'n1', why: 'a b' }),
    't WARN  gateway: m node=n1 why="a b"\n',
  );
});
