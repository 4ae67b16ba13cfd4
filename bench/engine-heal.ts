/**
 * `npm run bench:engine-heal`: the engine's own floor for a heal, with no Skiff in the way. A
 * container (a replica's create body, on a user-defined bridge) is SIGKILLed; on its `die` event
 * its replacement is made and started, one way per case, interleaved:
 *
 * - `create at die`: created, then started, once the `die` arrives (what an agent without a spare
 *   can do at best);
 * - `spare at die`: created before the kill, started the moment the `die` arrives (what a spare
 *   container kept per replica would allow);
 * - `spare at die + 10 ms` / `+ 25 ms`: the same, started later (a create's time, a list's).
 *
 * Times kill → `die`, the start call, and kill → the replacement's `start` event. Here a start issued
 * the moment the `die` arrives ran ahead of the dead container's teardown (about 280 ms against 380
 * for one issued 10 ms later); inside Skiff's agent, with a real agent beside it, that gain did not
 * show (README, "Heal and removal").
 *
 * Options: --trials N (8), --image REF (skiff-demo:v1).
 */
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import Docker from 'dockerode';
import { LABELS } from '../src/docker/container-engine.ts';
import { positiveInt } from './harness/options.ts';
import { fmtMs as fmt, out, runMain, table } from './harness/report.ts';
import { median } from './harness/stats.ts';
import { sleep } from './harness/wait.ts';

const CASES = [
  { name: 'create at die', spare: false, delayMs: 0 },
  { name: 'spare at die', spare: true, delayMs: 0 },
  { name: 'spare at die + 10 ms', spare: true, delayMs: 10 },
  { name: 'spare at die + 25 ms', spare: true, delayMs: 25 },
] as const;

interface Seen {
  readonly action: string;
  readonly id: string;
  readonly at: number;
}

/** The engine's events for one label, waitable. */
class Events {
  readonly #seen: Seen[] = [];
  readonly #waiters = new Set<() => void>();
  constructor(stream: NodeJS.ReadableStream) {
    void (async () => {
      for await (const line of createInterface({ input: stream })) {
        if (!line.trim()) continue;
        const event = JSON.parse(line) as { Action: string; Actor: { ID: string } };
        this.#seen.push({ action: event.Action, id: event.Actor.ID, at: performance.now() });
        for (const wake of [...this.#waiters]) wake();
      }
    })().catch(() => {});
  }
  next(action: string, id: string): Promise<Seen> {
    return new Promise((resolve) => {
      const check = () => {
        const found = this.#seen.find((e) => e.action === action && e.id === id);
        if (!found) return;
        this.#waiters.delete(check);
        resolve(found);
      };
      this.#waiters.add(check);
      check();
    });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      trials: { type: 'string', default: '8' },
      image: { type: 'string', default: 'skiff-demo:v1' },
    },
  });
  const trials = positiveInt('trials', values.trials, 100);
  const docker = new Docker();
  const label = `skiff-engineheal-${randomUUID().slice(0, 8)}`;
  const net = `${label}-net`;
  // A replica's create body as it matters to a start: a user-defined bridge, resolver settings, an alias.
  const body = (name: string) => ({
    Image: values.image,
    name,
    Hostname: 'x-0',
    Labels: { [LABELS.cluster]: label },
    HostConfig: {
      NetworkMode: net,
      RestartPolicy: { Name: 'no' },
      Dns: ['192.168.253.1'],
      DnsSearch: ['skiff'],
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
    },
    NetworkingConfig: { EndpointsConfig: { [net]: { Aliases: ['x-0'] } } },
  });
  await docker.createNetwork({
    Name: net,
    Driver: 'bridge',
    IPAM: { Config: [{ Subnet: '192.168.253.0/24' }] },
    Labels: { [LABELS.cluster]: label },
  });
  const stream = (await docker.getEvents({
    filters: { type: ['container'], label: [`${LABELS.cluster}=${label}`] },
  })) as NodeJS.ReadableStream & { destroy(): void };
  const events = new Events(stream);
  const times = new Map<string, { die: number[]; start: number[]; total: number[] }>();
  try {
    for (let trial = 0; trial <= trials; trial++) {
      for (const c of trial % 2 === 0 ? CASES : [...CASES].reverse()) {
        const tag = `${label}-${trial}-${CASES.indexOf(c)}`;
        const old = await docker.createContainer(body(`${tag}-a`));
        await old.start();
        const spare = c.spare ? await docker.createContainer(body(`${tag}-b`)) : undefined;
        // Settled, and killed at a random moment.
        await sleep(1000 + Math.random() * 500);
        const t0 = performance.now();
        void old.kill({ signal: 'SIGKILL' });
        const died = await events.next('die', old.id);
        if (c.delayMs > 0) await sleep(c.delayMs);
        const next = spare ?? (await docker.createContainer(body(`${tag}-b`)));
        const t1 = performance.now();
        await next.start();
        const t2 = performance.now();
        const started = await events.next('start', next.id);
        if (trial > 0) {
          const t = times.get(c.name) ?? { die: [], start: [], total: [] };
          t.die.push(died.at - t0);
          t.start.push(t2 - t1);
          t.total.push(started.at - t0);
          times.set(c.name, t);
        }
        await old.remove({ force: true });
        await next.remove({ force: true });
      }
    }
    out(`kill → replacement started, ${trials} trials each, interleaved (median ms)`);
    out(
      table(
        ['case', 'kill → die', 'start call', 'kill → start event'],
        [...times].map(([name, t]) => [name, fmt(median(t.die)), fmt(median(t.start)), fmt(median(t.total))]),
      ),
    );
  } finally {
    stream.destroy();
    const left = await docker.listContainers({
      all: true,
      filters: { label: [`${LABELS.cluster}=${label}`] },
    });
    for (const c of left) await docker.getContainer(c.Id).remove({ force: true });
    await docker.getNetwork(net).remove();
  }
}

runMain('bench:engine-heal', main);
