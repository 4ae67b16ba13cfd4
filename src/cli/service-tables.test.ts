import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  formatReplicaTable,
  formatServiceHeader,
  formatServiceSummary,
  formatServiceTable,
} from './service-tables.ts';
import { replica, serviceView } from './service-view-fixture.ts';
import { formatTable } from './table.ts';

test('tables pad each column to its widest cell plus two spaces, the last unpadded', () => {
  assert.deepEqual(formatTable(['A', 'LONGER', 'Z'], [['wide-cell', 'x', 'last cell']]), [
    'A          LONGER  Z',
    'wide-cell  x       last cell',
  ]);
  assert.deepEqual(formatTable(['NAME', 'STATUS'], []), ['NAME  STATUS']);
});

test('ps lists services sorted by name with the spec columns', () => {
  const lines = formatServiceTable([
    serviceView({ name: 'worker', replicas: 2 }),
    serviceView({ name: 'api-server', replicas: 3 }),
  ]);
  assert.deepEqual(lines, [
    'NAME        STATUS   REPLICAS  HEALTH',
    'api-server  running  3/3       healthy',
    'worker      running  2/2       healthy',
  ]);
});

test('HEALTH is "healthy" when all are, a fraction when not, "-" for no replicas', () => {
  const lines = formatServiceTable([
    serviceView({ name: 'a', replicas: 5, running: 4, healthy: 3, status: 'degraded' }),
    serviceView({ name: 'b', replicas: 0, running: 0, healthy: 0, status: 'stopped' }),
    serviceView({ name: 'c', replicas: 2, running: 0, healthy: 0, status: 'pending' }),
  ]);
  assert.deepEqual(lines, [
    'NAME  STATUS    REPLICAS  HEALTH',
    'a     degraded  4/5       3/5 healthy',
    'b     stopped   0/0       -',
    'c     pending   0/2       0/2 healthy',
  ]);
});

test('the deploy/scale summary is the ps row', () => {
  assert.equal(formatServiceSummary(serviceView()), 'api-server running 3/3 healthy');
});

test('ps NAME prints the service line, then replicas by slot and revision', () => {
  const now = Date.parse('2024-01-15T10:00:00Z');
  const service = serviceView({
    revision: 2,
    containers: [
      replica({
        slot: 1,
        revision: 2,
        id: null,
        node_id: null,
        status: 'pending',
        health: 'none',
        message: 'no node fits',
      }),
      replica({ slot: 0, revision: 2, id: 'bbbbbbbbbbbb' }),
      replica({ slot: 0, revision: 1, id: 'aaaaaaaaaaaa', status: 'stopping' }),
      replica({
        slot: 2,
        revision: 2,
        status: 'backoff',
        health: 'unhealthy',
        restart_count: 4,
        message: 'exited with code 1',
        retry_at: '2024-01-15T10:00:04.200Z',
      }),
    ],
  });
  assert.equal(
    formatServiceHeader(service),
    'service api-server  image myapp:latest  revision 2  status running',
  );
  assert.deepEqual(formatReplicaTable(service, now), [
    'NAME          CONTAINER     NODE    STATUS    HEALTH     RESTARTS  MESSAGE',
    'api-server-0  aaaaaaaaaaaa  node-1  stopping  healthy    0         -',
    'api-server-0  bbbbbbbbbbbb  node-1  running   healthy    0         -',
    'api-server-1  -             -       pending   none       0         no node fits',
    'api-server-2  c0ffee000002  node-1  backoff   unhealthy  4         exited with code 1 (retry in 5s)',
  ]);
});
