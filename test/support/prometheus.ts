/**
 * A real Prometheus for tests (Debian's `prometheus`): started on a free loopback port with a
 * config and a tmpfs data dir written here, scraping every second the targets tests add
 * (file_sd, re-read every second) with a bearer token from a file, and loading the shipped alert
 * rules. One instance can serve a whole run: set `SKIFF_TEST_PROMETHEUS=URL,DIR` to name a
 * running one started with the config `prometheusConfig(DIR)` writes (`startPrometheus` prints it
 * as it starts one), and tests only add and remove their target files in DIR.
 *
 * Each target carries a `skiff_run` label: a query confined to it (`withMatcher`) sees one run's
 * series, never an earlier run's.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { eventually } from './eventually.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const BINARY = process.env.SKIFF_TEST_PROMETHEUS_BINARY ?? '/usr/bin/prometheus';
export const SCRAPE_INTERVAL_S = 1;

const queryAnswerSchema = z.object({
  status: z.literal('success'),
  data: z.object({
    resultType: z.string(),
    result: z.array(
      z
        .object({ metric: z.record(z.string(), z.string()), value: z.tuple([z.number(), z.string()]) })
        .loose(),
    ),
  }),
});
export type QueryResult = z.infer<typeof queryAnswerSchema>['data']['result'];

const failureSchema = z.object({ status: z.literal('error'), error: z.string() });

export class PrometheusQueryError extends Error {
  override readonly name = 'PrometheusQueryError';
}

/** The config of a test Prometheus whose targets and token are files in `dir`. */
export function prometheusConfig(dir: string): string {
  return `global:
  scrape_interval: ${SCRAPE_INTERVAL_S}s
  evaluation_interval: ${SCRAPE_INTERVAL_S}s
rule_files:
  - ${join(ROOT, 'prometheus/skiff-rules.yml')}
scrape_configs:
  - job_name: skiff
    scrape_interval: ${SCRAPE_INTERVAL_S}s
    scrape_timeout: ${SCRAPE_INTERVAL_S}s
    authorization:
      type: Bearer
      credentials_file: ${join(dir, 'token')}
    file_sd_configs:
      - files: ['${join(dir, 'targets')}/*.json']
        refresh_interval: 1s
`;
}

export class TestPrometheus {
  readonly url: string;
  readonly #dir: string;
  readonly #process: ChildProcess | undefined;
  readonly output: string[] = [];

  private constructor(url: string, dir: string, child: ChildProcess | undefined) {
    this.url = url;
    this.#dir = dir;
    this.#process = child;
    child?.stderr?.on('data', (d: Buffer) => this.output.push(...String(d).trimEnd().split('\n')));
  }

  /** The instance `SKIFF_TEST_PROMETHEUS` names, or a new one on tmpfs. */
  static async start(): Promise<TestPrometheus> {
    const named = process.env.SKIFF_TEST_PROMETHEUS;
    if (named) {
      const [url, dir] = named.split(',');
      if (!url || !dir) throw new Error(`SKIFF_TEST_PROMETHEUS: expected URL,DIR, got ${named}`);
      mkdirSync(join(dir, 'targets'), { recursive: true });
      return new TestPrometheus(url, dir, undefined);
    }
    const dir = mkdtempSync(join('/dev/shm', 'skiff-prometheus-'));
    mkdirSync(join(dir, 'targets'));
    writeFileSync(join(dir, 'token'), 'none yet\n');
    writeFileSync(join(dir, 'prometheus.yml'), prometheusConfig(dir));
    const port = await freePort();
    const child = spawn(
      BINARY,
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--storage.tsdb.retention.time=1h',
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const prometheus = new TestPrometheus(`http://127.0.0.1:${port}`, dir, child);
    try {
      await eventually('Prometheus to be ready', async () => (await fetch(`${prometheus.url}/-/ready`)).ok, {
        timeoutMs: 30_000,
        intervalMs: 200,
      });
    } catch (error) {
      console.error(prometheus.output.slice(-20).join('\n'));
      await prometheus.stop();
      throw error;
    }
    return prometheus;
  }

  /** Scrapes `hostPort`'s /metrics with `token`, its series labelled `skiff_run="run"`. */
  addTarget(run: string, hostPort: string, token: string): void {
    writeFileSync(join(this.#dir, 'token'), `${token}\n`);
    const file = join(this.#dir, 'targets', `${run}.json`);
    // Written aside and renamed, so Prometheus never reads half a file.
    writeFileSync(`${file}.part`, JSON.stringify([{ targets: [hostPort], labels: { skiff_run: run } }]));
    renameSync(`${file}.part`, file);
  }

  removeTarget(run: string): void {
    rmSync(join(this.#dir, 'targets', `${run}.json`), { force: true });
  }

  /** An instant query now; throws on a query Prometheus refuses. */
  async query(expr: string): Promise<QueryResult> {
    const response = await fetch(`${this.url}/api/v1/query?${new URLSearchParams({ query: expr })}`);
    const body: unknown = await response.json();
    const failed = failureSchema.safeParse(body);
    if (failed.success) throw new PrometheusQueryError(`${expr}: ${failed.data.error}`);
    const answer = queryAnswerSchema.parse(body);
    return answer.data.result;
  }

  /** Stops the instance this helper started (by its PID) and removes its data; a named one stays. */
  async stop(): Promise<void> {
    const child = this.#process;
    if (!child) return;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

async function freePort(): Promise<number> {
  return await new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}
