/**
 * Skiff on the multi-host lab (scripts/lab.sh: each host a network namespace with its own dockerd
 * and `skiff agent`) for the lab benches: the lab up, a real `skiff server` on the lab bridge, the
 * agents joined, a client of every host's engine, waiting until every node is ready, reading back
 * an engine's create/start events, and `runLabBench`: Ctrl-C handling (a second Ctrl-C exits at
 * once), reporting a failed run with the server's last output, and always stopping the server (by
 * its handle, SIGKILL if it hangs) and taking the lab down.
 */
import Docker from 'dockerode';
import { z } from 'zod';
import { LABELS } from '../../src/docker/container-engine.ts';
import { Lab } from '../../test/support/lab.ts';
import { SkiffCluster } from '../../test/support/skiff-cluster.ts';
import { errorText } from './report.ts';
import { SkiffApi } from './skiff-api.ts';
import { checkInterrupted, interrupted, withDeadline } from './wait.ts';

const SERVER_STOP_TIMEOUT_MS = 30_000;

/** A lab with Skiff on it: everything a lab bench measures through. */
export interface LabSkiff {
  readonly lab: Lab;
  readonly skiff: SkiffCluster;
  readonly api: SkiffApi;
  /** The lab's hosts, 1..n. */
  readonly hosts: readonly number[];
  /** A client of each host's engine, host i at index i − 1. */
  readonly engines: readonly Docker[];
  /** How long `Lab.up` took. */
  readonly labUpMs: number;
}

export function engineOf(labSkiff: Pick<LabSkiff, 'engines'>, host: number): Docker {
  const docker = labSkiff.engines[host - 1];
  if (!docker) throw new Error(`no engine for host ${host}`);
  return docker;
}

/** Until every host's node is ready (stopping on Ctrl-C). */
export async function waitNodesReady(
  labSkiff: Pick<LabSkiff, 'api' | 'hosts'>,
  what: string,
  timeoutMs: number,
  intervalMs: number,
): Promise<void> {
  await labSkiff.api.waitReadyNodes(what, timeoutMs, intervalMs, (ready) => ready === labSkiff.hosts.length);
}

/** What a lab bench started, for `runLabBench` to tear down whatever of it is up. */
export class LabSession {
  lab: Lab | undefined;
  skiff: SkiffCluster | undefined;

  /** The lab of `hosts` hosts, the server on its bridge, and the agents joined (not yet ready). */
  async up(
    hosts: number,
    {
      labUpTimeoutMs,
      httpTimeoutMs,
      serverArgs = [],
    }: { labUpTimeoutMs: number; httpTimeoutMs: number; serverArgs?: readonly string[] },
  ): Promise<LabSkiff> {
    const upStart = Date.now();
    const lab = await Lab.up(hosts, { timeoutMs: labUpTimeoutMs });
    this.lab = lab;
    checkInterrupted();
    const labUpMs = Date.now() - upStart;
    const skiff = await SkiffCluster.startServerOnly(Lab.gateway, [
      '--address-pool',
      Lab.addressPool,
      ...serverArgs,
    ]);
    this.skiff = skiff;
    checkInterrupted();
    await lab.startAgents(skiff.url, skiff.joinToken);
    const hostList = Array.from({ length: hosts }, (_, i) => i + 1);
    return {
      lab,
      skiff,
      api: new SkiffApi(skiff.url, skiff.token, httpTimeoutMs),
      hosts: hostList,
      engines: hostList.map((i) => new Docker({ socketPath: lab.socketPath(i) })),
      labUpMs,
    };
  }

  /** Stops the server (SIGKILL if it does not stop in time), then takes the lab down. */
  async down(): Promise<void> {
    const server = this.skiff;
    if (server) {
      await withDeadline('the server to stop', SERVER_STOP_TIMEOUT_MS, server.stop()).catch(
        (error: unknown) => {
          process.stderr.write(`${errorText(error)}; killing it\n`);
          server.server?.kill('SIGKILL');
        },
      );
    }
    if (this.lab)
      await this.lab
        .down()
        .catch((error: unknown) => process.stderr.write(`lab down: ${errorText(error)}\n`));
  }
}

/**
 * Runs the `name` benchmark's `body` on the lab. A failure is reported on stderr (with the
 * server's last output) rather than thrown; `beforeDown` (e.g. closing a stream) runs first in
 * the teardown. Exit code 1 when the run failed or was interrupted. Throws before anything starts
 * when this machine cannot run the lab.
 */
export async function runLabBench(
  name: string,
  body: (session: LabSession) => Promise<void>,
  beforeDown: () => Promise<void> = async () => {},
): Promise<void> {
  const why = Lab.unsupportedReason();
  if (why) throw new Error(`the ${name} benchmark runs on the lab: ${why}`);
  const session = new LabSession();
  const onSigint = () => {
    if (interrupted.signal.aborted) {
      process.stderr.write('second Ctrl-C: exiting without cleanup (run: npm run lab -- down)\n');
      process.exit(130);
    }
    process.stderr.write('interrupted: cleaning up (Ctrl-C again to exit at once)\n');
    interrupted.abort();
  };
  process.on('SIGINT', onSigint);
  let failed = false;
  try {
    await body(session);
  } catch (error) {
    failed = true;
    process.stderr.write(`${name} benchmark failed: ${errorText(error)}\n`);
    if (session.skiff)
      process.stderr.write(`last server output:\n${session.skiff.output.slice(-30).join('\n')}\n`);
  } finally {
    await beforeDown();
    await session.down();
    process.off('SIGINT', onSigint);
  }
  if (failed || interrupted.signal.aborted) process.exitCode = 1;
}

/** One create or start event of a container, read back from a host's engine. */
export interface EngineEvent {
  readonly host: number;
  readonly id: string;
  readonly action: string;
  /** The container's service label ('' if none). */
  readonly service: string;
  /** Epoch ms (from the engine's timeNano). */
  readonly at: number;
}

const engineEventSchema = z.object({
  id: z.string().optional(),
  Action: z.string(),
  timeNano: z.number(),
  Actor: z
    .object({ ID: z.string().optional(), Attributes: z.record(z.string(), z.string()).optional() })
    .optional(),
});

/**
 * The create/start events of containers carrying `labels` between two times (epoch ms), read
 * back from a host's engine; bounded by `deadlineMs`.
 */
export async function readEngineEvents(
  docker: Docker,
  host: number,
  labels: readonly string[],
  sinceMs: number,
  untilMs: number,
  deadlineMs: number,
): Promise<EngineEvent[]> {
  const stream = await docker.getEvents({
    since: Math.floor(sinceMs / 1000),
    until: Math.ceil(untilMs / 1000),
    filters: { type: ['container'], event: ['create', 'start'], label: [...labels] },
  });
  const events: EngineEvent[] = [];
  let buffer = '';
  const done = new Promise<void>((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (line === '') continue;
        const parsed = engineEventSchema.parse(JSON.parse(line));
        const at = parsed.timeNano / 1e6;
        const id = parsed.id ?? parsed.Actor?.ID ?? '';
        const service = parsed.Actor?.Attributes?.[LABELS.service] ?? '';
        if (at >= sinceMs && at <= untilMs) events.push({ host, id, action: parsed.Action, service, at });
      }
    });
    stream.on('end', () => resolve());
    stream.on('error', reject);
  });
  try {
    await withDeadline(`engine events of host ${host}`, deadlineMs, done);
  } finally {
    const destroyable = stream as { destroy?: () => void };
    destroyable.destroy?.();
  }
  return events;
}

/**
 * Counts `start` events of containers carrying `labels` on some engines, as they come: a bench
 * waiting for containers to run lists them when one started, not every few ms, so the engines it
 * measures do not also serve a hundred lists a second. Open it before the starts; stop() ends it.
 */
export class StartWatch {
  #starts = 0;
  readonly #streams: NodeJS.ReadableStream[] = [];

  static async open(dockers: readonly Docker[], labels: readonly string[]): Promise<StartWatch> {
    const watch = new StartWatch();
    for (const docker of dockers) {
      const stream = await docker.getEvents({
        filters: { type: ['container'], event: ['start'], label: [...labels] },
      });
      stream.on('data', (chunk: Buffer) => {
        // One JSON object a line, and a chunk may hold several.
        watch.#starts += chunk
          .toString('utf8')
          .split('\n')
          .filter((l) => l.trim() !== '').length;
      });
      stream.on('error', () => {});
      watch.#streams.push(stream);
    }
    return watch;
  }

  /** Start events seen so far. */
  get starts(): number {
    return this.#starts;
  }

  stop(): void {
    for (const stream of this.#streams) (stream as { destroy?: () => void }).destroy?.();
  }
}
