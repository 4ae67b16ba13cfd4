import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SqliteStore } from '../store/sqlite-store.ts';
import { readVolumes, recordMove, recordVolumes, requestRemoval, volumePlaces } from './volume-registry.ts';

const volume = (name: string) => ({ name, service: 'db', slot: 0, created_at: 1, used_by: [] });

test('reports, moves and removals: each done once the nodes say so, and kept across a restart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-volumes-'));
  const path = join(dir, 'skiff.db');
  try {
    const store = new SqliteStore(path);
    assert.deepEqual(recordVolumes(store, 'n1', [volume('data-0')]), []);
    assert.deepEqual([...volumePlaces(store).located], [['data-0', ['n1']]]);
    recordMove(store, 'data-0', 'n2');
    assert.equal(volumePlaces(store).moves.get('data-0'), 'n2');
    recordVolumes(store, 'n2', [volume('data-0')]);
    assert.equal(readVolumes(store).moves['data-0'], 'n2', 'n1 still has its copy: the move stands');
    assert.deepEqual(requestRemoval(store, ['data-0'], 'n1'), ['n1']);
    assert.deepEqual(
      recordVolumes(store, 'n1', [volume('data-0')]),
      ['data-0'],
      'asked again while it has it',
    );
    await store.close();

    const again = new SqliteStore(path);
    assert.deepEqual([...volumePlaces(again).located], [['data-0', ['n1', 'n2']]], 'kept in the store');
    recordVolumes(again, 'n1', []);
    const value = readVolumes(again);
    assert.deepEqual(value.removals, [], 'the removal is done');
    assert.deepEqual(value.moves, {}, 'the move is done: only n2 has it');
    assert.deepEqual([...volumePlaces(again).located], [['data-0', ['n2']]]);
    await again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
