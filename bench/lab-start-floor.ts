/**
 * `npm run bench:lab-start-floor`: the lab engines' own floor for what a failover from prepared
 * replicas leaves to do, with no Skiff running: N containers per engine created beforehand (Skiff's
 * own create body from containerDefinition: a Skiff-style network, the image's port published on
 * the host's address through docker-proxy, resolver settings, an alias), then all started at once,
 * and each start call's request and answer timed. Variants, interleaved trial by trial:
 *   - one engine, N starts in parallel;
 *   - two engines, N each, all 2N in parallel (what a 3-host failover asks of the survivors);
 *   - two engines, N each, each created then started, all at once (a failover whose replacements
 *     were not prepared: what a standby prepared ahead of any failure would take off the path);
 *   - two engines, N each, one, two or three starts at a time per engine (whether parallel starts
 *     help at all, and which bound ends the last start soonest);
 *   - two engines, N each, in parallel, without the image's port published (what docker-proxy and
 *     the port's iptables rules cost a start).
 * The lab comes up (scripts/lab.sh) and goes down with the bench; every container and network it
 * makes carries its own cluster label and is removed.
 *
 * Options: --trials N (5), --per-engine N (5: a killed host of 10/10/10 moves 5 to each survivor),
 * --image REF (skiff-demo:v1), --only KEYS (comma-separated: one, parallel, serial, two, three,
 * create, unpublished; all by default).
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { containerDefinition } from '../src/docker/container-definition.ts';
import type { ContainerDefinition } from '../src/docker/container-engine.ts';
import { DockerEngine } from '../src/docker/docker-engine.ts';
import { parseAddressPool } from '../src/model/addressing.ts';
import { serviceSpecSchema } from '../src/model/service-spec.ts';
import type { TaskSpec } from '../src/protocol/messages.ts';
import { Lab } from '../test/support/lab.ts';
import { positiveInt } from './harness/options.ts';
import { fmtMs as fmt, out, runMain, table } from './harness/report.ts';
import { median } from './harness/stats.ts';

const HOSTS = 2;

interface Call {
  readonly host: number;
  readonly start: number;
  readonly end: number;
}

/** One variant's containers for a trial: definitions by host, and the ids of those created. */
interface Batch {
  readonly made: Map<number, string[]>;
  readonly definitions: Map<number, ContainerDefinition[]>;
}

interface Round {
  /** First request → last answer, ms. */
  readonly spanMs: number;
  /** Each start's own request → answer, ms. */
  readonly callsMs: number[];
}

function task(service: string, slot: number, image: string): TaskSpec {
  return {
    task_id: randomUUID().replaceAll('-', ''),
    service,
    slot,
    revision: 1,
    spec: serviceSpecSchema.parse({ name: service, image }),
    networks: [{ name: 'default', index: 0 }],
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      trials: { type: 'string', default: '5' },
      'per-engine': { type: 'string', default: '5' },
      image: { type: 'string', default: 'skiff-demo:v1' },
      only: { type: 'string' },
    },
  });
  const only = values.only?.split(',');
  const trials = positiveInt('trials', values.trials, 50);
  const perEngine = positiveInt('per-engine', values['per-engine'], 50);
  const why = Lab.unsupportedReason();
  if (why) throw new Error(`bench:lab-start-floor runs on the lab: ${why}`);
  const lab = await Lab.up(HOSTS);
  const clusterId = `floor${randomUUID().slice(0, 8)}`;
  const pool = parseAddressPool(Lab.addressPool);
  const hosts = Array.from({ length: HOSTS }, (_, i) => i + 1);
  const engines = hosts.map((i) => new DockerEngine(lab.dockerHost(i)));
  const engineOf = (host: number) => {
    const engine = engines[host - 1];
    if (!engine) throw new Error(`no engine ${host}`);
    return engine;
  };
  const imagePorts = await engineOf(1).imageExposedPorts(values.image);

  /**
   * N prepared-like containers' definitions on each of `on`, their networks made; created too
   * (ids by host) unless `created` is false (the variant creates them on its path).
   */
  const prepare = async (
    on: readonly number[],
    trial: number,
    published: boolean,
    created: boolean,
  ): Promise<Batch> => {
    const made = new Map<number, string[]>();
    const definitions = new Map<number, ContainerDefinition[]>();
    for (const host of on) {
      const engine = engineOf(host);
      const ids: string[] = [];
      const defined: ContainerDefinition[] = [];
      for (let slot = 0; slot < perEngine; slot++) {
        const definition = containerDefinition(
          task(`f${trial}`, slot, values.image),
          { clusterId, pool },
          0,
          [],
          lab.address(host),
          published ? imagePorts : [],
        );
        for (const network of definition.networks) await engine.ensureNetwork(network);
        defined.push(definition);
        if (created) ids.push(await engine.createContainer(definition));
      }
      made.set(host, ids);
      definitions.set(host, defined);
    }
    return { made, definitions };
  };
  const removeAll = async ({ made }: Batch) => {
    await Promise.all(
      [...made].flatMap(([host, ids]) => ids.map((id) => engineOf(host).removeContainer(id))),
    );
  };
  const startParallel = async ({ made }: Batch): Promise<Call[]> =>
    await Promise.all(
      [...made].flatMap(([host, ids]) =>
        ids.map(async (id) => {
          const start = performance.now();
          await engineOf(host).startContainer(id);
          return { host, start, end: performance.now() };
        }),
      ),
    );
  /**
   * Each container created then started, all at once: a failover whose replacements were not
   * prepared (a create's request → the last start's answer), what a standby would take off the path.
   */
  const createThenStartParallel = async ({ made, definitions }: Batch): Promise<Call[]> =>
    await Promise.all(
      [...definitions].flatMap(([host, defined]) =>
        defined.map(async (definition) => {
          const start = performance.now();
          const id = await engineOf(host).createContainer(definition);
          made.get(host)?.push(id);
          await engineOf(host).startContainer(id);
          return { host, start, end: performance.now() };
        }),
      ),
    );
  /** At most `inFlight` starts at once per engine, each next one asked as one ends. */
  const startBoundedPerEngine =
    (inFlight: number) =>
    async ({ made }: Batch): Promise<Call[]> =>
      (
        await Promise.all(
          [...made].map(async ([host, ids]) => {
            const calls: Call[] = [];
            const queue = [...ids];
            const worker = async () => {
              for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
                const start = performance.now();
                await engineOf(host).startContainer(id);
                calls.push({ host, start, end: performance.now() });
              }
            };
            await Promise.all(Array.from({ length: inFlight }, worker));
            return calls;
          }),
        )
      ).flat();

  const variants: {
    key: string;
    name: string;
    on: number[];
    published: boolean;
    /** False: the variant's run creates them (default true: created beforehand, not timed). */
    created?: boolean;
    run: (batch: Batch) => Promise<Call[]>;
  }[] = [
    { key: 'one', name: `1 engine, ${perEngine} in parallel`, on: [1], published: true, run: startParallel },
    {
      key: 'parallel',
      name: `2 engines, ${perEngine} each, all in parallel`,
      on: hosts,
      published: true,
      run: startParallel,
    },
    {
      key: 'serial',
      name: `2 engines, ${perEngine} each, one at a time per engine`,
      on: hosts,
      published: true,
      run: startBoundedPerEngine(1),
    },
    {
      key: 'two',
      name: `2 engines, ${perEngine} each, 2 at a time per engine`,
      on: hosts,
      published: true,
      run: startBoundedPerEngine(2),
    },
    {
      key: 'three',
      name: `2 engines, ${perEngine} each, 3 at a time per engine`,
      on: hosts,
      published: true,
      run: startBoundedPerEngine(3),
    },
    {
      key: 'create',
      name: `2 engines, ${perEngine} each, created then started, all in parallel`,
      on: hosts,
      published: true,
      created: false,
      run: createThenStartParallel,
    },
    {
      key: 'unpublished',
      name: `2 engines, ${perEngine} each, in parallel, no port published`,
      on: hosts,
      published: false,
      run: startParallel,
    },
  ].filter((v) => only === undefined || only.includes(v.key));
  const rounds = new Map<string, Round[]>();
  try {
    out(
      `Lab engines' start floor: ${perEngine} prepared containers per engine, ${trials} trials per variant`,
    );
    for (let trial = 0; trial <= trials; trial++) {
      const order = trial % 2 === 0 ? variants : [...variants].reverse();
      for (const variant of order) {
        const batch = await prepare(variant.on, trial, variant.published, variant.created ?? true);
        try {
          const calls = await variant.run(batch);
          const spanMs = Math.max(...calls.map((c) => c.end)) - Math.min(...calls.map((c) => c.start));
          // Trial 0 warms the engines (first network sandbox, image layers in the page cache).
          if (trial > 0) {
            const list = rounds.get(variant.name) ?? [];
            list.push({ spanMs, callsMs: calls.map((c) => c.end - c.start) });
            rounds.set(variant.name, list);
          }
        } finally {
          await removeAll(batch);
        }
      }
    }
    out(
      table(
        ['variant', 'span median', 'span min–max', 'one start median', 'one start max'],
        [...rounds].map(([name, list]) => {
          const spans = list.map((r) => r.spanMs);
          const calls = list.flatMap((r) => r.callsMs);
          return [
            name,
            fmt(median(spans)),
            `${fmt(Math.min(...spans))}–${fmt(Math.max(...spans))}`,
            fmt(median(calls)),
            fmt(Math.max(...calls)),
          ];
        }),
      ),
    );
    out(
      '  span: the first start request → the last start answer (ms); a start answers once the process runs.',
    );
  } finally {
    await lab.down();
  }
}

runMain('bench:lab-start-floor', main);
