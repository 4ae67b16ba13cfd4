/**
 * The agent's request counters from HAProxy (`show stat`), since HAProxy serves requests the
 * agent never sees: per route, the answers its frontend sent by status class, as deltas between
 * two polls (a reload starts a worker with counters at zero, so a counter that went down counts
 * from zero), and the backend's average total time over its last 1,024 requests, which stands in
 * for each request's duration (HAProxy keeps no per-request times to read back). Pure.
 */

export const STATUS_CLASSES = ['2xx', '3xx', '4xx', '5xx', 'error'] as const;
export type StatusClass = (typeof STATUS_CLASSES)[number];

export interface FrontendCounts {
  /** Answers by class; `error` is HAProxy's `hrsp_other` (1xx included: rare, and no final answer). */
  readonly answers: Readonly<Record<StatusClass, number>>;
  /** The backend's `ttime`, in seconds; undefined before it has served. */
  readonly averageSeconds: number | undefined;
}

export interface CountsDelta {
  /** The proxy name (`haproxyName` of the route key). */
  readonly name: string;
  readonly statusClass: StatusClass;
  readonly count: number;
  readonly averageSeconds: number | undefined;
}

const COLUMNS: Record<StatusClass, readonly string[]> = {
  '2xx': ['hrsp_2xx'],
  '3xx': ['hrsp_3xx'],
  '4xx': ['hrsp_4xx'],
  '5xx': ['hrsp_5xx'],
  error: ['hrsp_1xx', 'hrsp_other'],
};

/** `show stat`'s CSV → per proxy name, its frontend's answers and backend's average time. */
export function parseStat(csv: string): Map<string, FrontendCounts> {
  const lines = csv.split('\n').filter((line) => line.trim() !== '');
  const header = lines[0]?.replace(/^# /, '').split(',') ?? [];
  const column = (name: string) => header.indexOf(name);
  const at = (cells: readonly string[], name: string) => {
    const index = column(name);
    const value = index === -1 ? '' : (cells[index] ?? '');
    return value === '' ? undefined : Number(value);
  };
  const answers = new Map<string, Record<StatusClass, number>>();
  const times = new Map<string, number>();
  for (const line of lines.slice(1)) {
    const cells = line.split(',');
    const [name, row] = cells;
    if (name === undefined || row === undefined) continue;
    if (row === 'FRONTEND') {
      const counts = { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, error: 0 };
      for (const statusClass of STATUS_CLASSES) {
        for (const columnName of COLUMNS[statusClass]) counts[statusClass] += at(cells, columnName) ?? 0;
      }
      answers.set(name, counts);
    } else if (row === 'BACKEND') {
      const ttime = at(cells, 'ttime');
      if (ttime !== undefined && Number.isFinite(ttime)) times.set(name, ttime);
    }
  }
  const out = new Map<string, FrontendCounts>();
  for (const [name, counts] of answers) {
    const ms = times.get(name);
    out.set(name, { answers: counts, averageSeconds: ms === undefined ? undefined : ms / 1000 });
  }
  return out;
}

/** What was answered between `previous` and `next`; a counter lower than before restarted at zero. */
export function countDeltas(
  previous: ReadonlyMap<string, FrontendCounts>,
  next: ReadonlyMap<string, FrontendCounts>,
): CountsDelta[] {
  const deltas: CountsDelta[] = [];
  for (const [name, counts] of next) {
    const before = previous.get(name);
    for (const statusClass of STATUS_CLASSES) {
      const now = counts.answers[statusClass];
      const then = before?.answers[statusClass] ?? 0;
      const count = now >= then ? now - then : now;
      if (count > 0) deltas.push({ name, statusClass, count, averageSeconds: counts.averageSeconds });
    }
  }
  return deltas;
}
