import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { loadAssignment, saveAssignment } from './assignment-file.ts';

let dir: string;
let logged: string[];
const log = (message: string) => logged.push(message);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-assignment-'));
  logged = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('no file is no assignment, quietly', () => {
  assert.equal(loadAssignment(dir, log), undefined);
  assert.deepEqual(logged, []);
});

test('a saved assignment reads back', () => {
  const assignment = { cluster_id: 'c1', address_pool: '10.96.0.0/14', generation: 7, tasks: [] };
  saveAssignment(dir, assignment);
  assert.deepEqual(loadAssignment(dir, log), assignment);
  assert.deepEqual(logged, []);
});

for (const [what, text] of [
  ['garbage', '\u0000\u0001not json{'],
  ['half a file', '{"cluster_id":"c1","generation":3,"tas'],
  ['JSON of another shape', '{"cluster":"c1"}'],
  ['an empty file', ''],
] as const) {
  test(`${what} counts as no assignment: logged and moved aside`, () => {
    writeFileSync(join(dir, 'assignment.json'), text);
    assert.equal(loadAssignment(dir, log), undefined);
    const files = readdirSync(dir);
    assert.ok(!files.includes('assignment.json'), 'the unreadable file is out of the way');
    const aside = files.find((name) => name.startsWith('assignment.json.unreadable-'));
    assert.ok(aside, `moved aside: ${files.join(', ')}`);
    assert.equal(readFileSync(join(dir, aside), 'utf8'), text, 'kept as it was, for a post-mortem');
    assert.equal(logged.length, 1);
    assert.match(
      logged[0] ?? '',
      /is not a saved assignment; moved it to .*unreadable-\d+ and starting without one/,
    );
    // The next save and load work as on a fresh host.
    saveAssignment(dir, { cluster_id: 'c2', address_pool: '10.240.0.0/12', generation: 1, tasks: [] });
    assert.equal(loadAssignment(dir, log)?.cluster_id, 'c2');
  });
}

test('the heartbeat interval the server told is saved with the assignment; an older file reads without it', () => {
  const assignment = {
    cluster_id: 'c1',
    address_pool: '10.96.0.0/14',
    generation: 3,
    heartbeat_interval_ms: 500,
    tasks: [],
  };
  saveAssignment(dir, assignment);
  assert.deepEqual(loadAssignment(dir, log), assignment);
  writeFileSync(join(dir, 'assignment.json'), '{"cluster_id":"c1","generation":2,"tasks":[]}');
  const older = loadAssignment(dir, log);
  assert.equal(older?.generation, 2);
  assert.equal(older?.heartbeat_interval_ms, undefined);
  assert.deepEqual(logged, []);
});
