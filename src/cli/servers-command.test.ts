import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatServers } from './servers-command.ts';

test('skiff servers: one row per server, the leader marked with how long it has led, then the store', () => {
  const now = Date.parse('2026-12-01T12:10:00Z');
  const lines = formatServers(
    {
      answered_by: 'h1-8080',
      servers: [
        {
          id: 'h1-8080',
          url: 'https://10.0.0.1:8080',
          leader: false,
          started_at: '2026-12-01T12:00:00Z',
          leader_since: null,
        },
        {
          id: 'h2-8080',
          url: 'https://10.0.0.2:8080',
          leader: true,
          started_at: '2026-12-01T12:00:00Z',
          leader_since: '2026-12-01T12:08:00Z',
        },
      ],
      store: { kind: 'etcd', writable: false, problem: 'no quorum', location: 'http://10.0.0.1:2379' },
    },
    now,
  );
  assert.deepEqual(lines, [
    'ID       URL                    ROLE      LEADING FOR  UP',
    'h1-8080  https://10.0.0.1:8080  follower  -            10m',
    'h2-8080  https://10.0.0.2:8080  leader    2m           10m',
    'store: etcd http://10.0.0.1:2379 (NOT WRITABLE: no quorum)',
  ]);
});
