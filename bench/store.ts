/**
 * `npm run bench:store`: the store port alone, SQLite against etcd (a 3-member cluster on tmpfs
 * started for the run, test/support/etcd.ts), no Docker: what the control plane pays for etcd.
 * - a pass that places N new replicas: one transaction of N task inserts, until durable;
 * - agents' reports: R transactions of one observation each, issued as fast as they come
 *   (etcd commits the ones that wait together), until all are durable: reports per second;
 * - a snapshot read (taskSnapshot + listServices) of N tasks: what a pass's read costs;
 * - opening the store again with N tasks in it and taking a first snapshot (a server's start:
 *   etcd loads its mirror, SQLite its task table).
 * Options: --tasks N (10000), --reports R (2000), --trials T (3). Exits 0: it is a measurement.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { serviceSpecSchema } from '../src/model/service-spec.ts';
import type { TaskObservation } from '../src/model/task.ts';
import { EtcdStore } from '../src/store/etcd/etcd-store.ts';
import { SqliteStore } from '../src/store/sqlite-store.ts';
import type { Store } from '../src/store/store.ts';
import { startEtcdCluster } from '../test/support/etcd.ts';
import { positiveInt } from './harness/options.ts';
import { fmtMs, out, table } from './harness/report.ts';
import { median } from './harness/stats.ts';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '10000' },
    reports: { type: 'string', default: '2000' },
    trials: { type: 'string', default: '3' },
  },
  strict: true,
});
const TASKS = positiveInt('tasks', values.tasks, 100_000);
const REPORTS = positiveInt('reports', values.reports, 100_000);
const TRIALS = positiveInt('trials', values.trials, 20);

interface Figures {
  passMs: number;
  reportsPerS: number;
  snapshotMs: number;
  openMs: number;
}

function observation(id: string, i: number): TaskObservation {
  return {
    task_id: id,
    state: 'running',
    container_id: `c${i}`,
    health: 'healthy',
    message: null,
    exit_code: null,
    restart_count: i % 3,
    ports: [],
    retry_at: null,
    ready_since: 1_700_000_000_000 + i,
    ip: null,
  };
}

async function trial(store: Store, reopen: () => Promise<Store>, run: number): Promise<Figures> {
  const service = `web${run}`;
  store.putService(
    serviceSpecSchema.parse({ name: service, image: 'skiff-demo:v1', replicas: Math.min(TASKS, 1000) }),
    1,
  );
  await store.durable();
  let started = performance.now();
  store.transaction(() => {
    for (let i = 0; i < TASKS; i++)
      store.insertTask({
        id: `${service}-${i}`,
        service,
        slot: i,
        revision: 1,
        nodeId: `node-${i % 100}`,
        desiredState: 'running',
        pendingReason: null,
        createdAt: i,
      });
  });
  await store.durable();
  const passMs = performance.now() - started;
  started = performance.now();
  for (let i = 0; i < REPORTS; i++) {
    const id = `${service}-${i % TASKS}`;
    store.transaction(() => store.setObserved(id, observation(id, i)));
    // Reports arrive one per message, not all in one turn.
    if (i % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
  }
  await store.durable();
  const reportsPerS = REPORTS / ((performance.now() - started) / 1000);
  const snapshots: number[] = [];
  for (let i = 0; i < 20; i++) {
    const at = performance.now();
    store.taskSnapshot();
    store.listServices();
    snapshots.push(performance.now() - at);
  }
  started = performance.now();
  const again = await reopen();
  // SQLite reads its tables on first use: the first snapshot is part of a start.
  again.taskSnapshot();
  const openMs = performance.now() - started;
  await again.close();
  return { passMs, reportsPerS, snapshotMs: median(snapshots), openMs };
}

async function measure(name: string, open: () => Promise<Store>): Promise<Figures[]> {
  const results: Figures[] = [];
  const store = await open();
  try {
    for (let run = 0; run < TRIALS; run++) {
      const figures = await trial(store, open, run);
      out(
        `  ${name} trial ${run + 1}: pass of ${TASKS} inserts ${fmtMs(figures.passMs)} ms, ${Math.round(figures.reportsPerS)} reports/s, snapshot ${figures.snapshotMs.toFixed(2)} ms, open ${fmtMs(figures.openMs)} ms`,
      );
      results.push(figures);
    }
  } finally {
    await store.close();
  }
  return results;
}

const dir = mkdtempSync(join(tmpdir(), 'skiff-bench-store-'));
const etcd = await startEtcdCluster();
try {
  out(`Store benchmark: ${TASKS} tasks per pass, ${REPORTS} report transactions, ${TRIALS} trial(s) each.`);
  out('  etcd: 3 members on loopback, data on tmpfs; SQLite: WAL on the temp dir.');
  const sqlite = await measure('sqlite', async () => new SqliteStore(join(dir, 'skiff.db')));
  const etcdFigures = await measure('etcd', () =>
    EtcdStore.open({ endpoints: etcd.endpoints, prefix: '/bench-store', compactEveryMs: 0, alarmCheckMs: 0 }),
  );
  const med = (list: Figures[], pick: (f: Figures) => number) => median(list.map(pick));
  const rows = (
    [
      ['pass: N inserts → durable (ms)', (f: Figures) => f.passMs, false],
      ['reports/s (1 observation per transaction)', (f: Figures) => f.reportsPerS, true],
      ['snapshot read of N tasks (ms)', (f: Figures) => f.snapshotMs, false],
      ['open with all tasks (ms)', (f: Figures) => f.openMs, false],
    ] as const
  ).map(([what, pick, higherIsBetter]) => {
    const a = med(sqlite, pick);
    const b = med(etcdFigures, pick);
    const cost = higherIsBetter ? a / b : b / a;
    return [what, a.toFixed(a < 10 ? 2 : 0), b.toFixed(b < 10 ? 2 : 0), `${cost.toFixed(2)}×`];
  });
  out('');
  out('Medians (cost: how many times more etcd takes, or fewer it does):');
  out(table(['what', 'SQLite', 'etcd', 'etcd cost'], rows));
} finally {
  await etcd.stop();
  rmSync(dir, { recursive: true, force: true });
}
