/**
 * `npm run bench:ha`: how fast a highly available Skiff recovers from losing its leader, on the
 * lab (scripts/lab.sh: 3 hosts, an agent on each given every server) with three `skiff server`s
 * on the lab bridge sharing a 3-member etcd on loopback (tmpfs), at default settings (leader
 * lease TTL 2 s, etcd heartbeat 100 ms / election 1 s).
 *
 * Each trial fails the current leader, alternating over the failure kinds:
 *   - kill:      SIGKILL of the leader's process (it is started again, as a follower, after);
 *   - partition: its etcd traffic dropped in netfilter (its own relay ports to the etcd members,
 *                test/support/ha-servers.ts); its API and its agents' connections stay up; healed after.
 * From the failure instant, measured in parallel:
 *   (a) a deploy through another server accepted (2xx; retried at once on refusal);
 *   (b) the new leader acting: that deploy's replica placed on a node (the first placement);
 *   (c) agent failover: every agent connected and ready on the new leader;
 *   (d) who leads, as every live server says.
 * Meanwhile 3 more deploys go through the other servers; afterwards every one answered 2xx must
 * exist and run exactly one container (a lost write or a duplicated replica is counted), and the
 * 3 replicas of a service deployed before the first trial must still be the same containers (no
 * healthy replica restarted because leadership moved). Then the trial's services are removed.
 *
 * Targets: (a) and (b) ≤ 3 s median, (c) ≤ 2 s median, 0 lost writes, 0 duplicates, 0 restarts.
 * Options: --trials N (10 per failure kind), --only kill,partition.
 */
import { parseArgs } from 'node:util';
import Docker from 'dockerode';
import { nodeViewSchema, serviceViewSchema } from '../src/model/views.ts';
import { startEtcdCluster } from '../test/support/etcd.ts';
import { HaServers } from '../test/support/ha-servers.ts';
import { Lab } from '../test/support/lab.ts';
import { positiveInt } from './harness/options.ts';
import { errorText, fmtMs, out, runMain, table } from './harness/report.ts';
import { median, percentile } from './harness/stats.ts';
import { abortOnSignals, checkInterrupted, sleep, waitUntil } from './harness/wait.ts';

type Kind = 'kill' | 'partition';
const HOSTS = 3;
const POLL_MS = 20;

interface Trial {
  readonly kind: Kind;
  readonly acceptedMs: number;
  readonly actingMs: number;
  readonly agentsMs: number;
  readonly leaderMs: number;
  lost: number;
  duplicates: number;
  restarts: number;
}

const spec = (name: string, replicas: number) => ({
  name,
  image: 'skiff-demo:v1',
  replicas,
  resources: { memory_mb: 16 },
});

async function main(): Promise<void> {
  abortOnSignals();
  const { values } = parseArgs({
    options: {
      trials: { type: 'string', default: '10' },
      only: { type: 'string', default: 'kill,partition' },
    },
  });
  const trials = positiveInt('--trials', values.trials, 100);
  const kinds = values.only.split(',').map((k) => k.trim()) as Kind[];
  for (const kind of kinds)
    if (kind !== 'kill' && kind !== 'partition') throw new Error(`--only: unknown kind ${kind}`);

  const etcd = await startEtcdCluster(3);
  let lab: Lab | undefined;
  let ha: HaServers | undefined;
  try {
    lab = await Lab.up(HOSTS);
    const engines = [1, 2, 3].map((i) => new Docker({ socketPath: (lab as Lab).socketPath(i) }));
    ha = await HaServers.start({
      count: 3,
      host: Lab.gateway,
      etcdEndpoints: etcd.endpoints,
      prefix: '/skiff-bench-ha',
      extraArgs: ['--address-pool', Lab.addressPool],
    });
    const cluster = ha;
    await lab.startAgents(cluster.urls.join(','), cluster.joinToken);
    await waitUntil('three ready nodes', 60_000, 100, async () =>
      (await nodesReady(cluster, 0)) ? true : undefined,
    );

    const running = async (service: string) => {
      const bySlot = new Map<string, string[]>();
      for (const engine of engines) {
        const list = await engine.listContainers({
          filters: {
            label: [`skiff.cluster=${cluster.clusterId}`, `skiff.service=${service}`],
            status: ['running'],
          },
        });
        for (const c of list) {
          const slot = c.Labels['skiff.slot'] ?? '?';
          bySlot.set(slot, [...(bySlot.get(slot) ?? []), c.Id]);
        }
      }
      return bySlot;
    };
    const exactly = async (service: string, replicas: number) =>
      await waitUntil(`${service}: ${replicas} running`, 60_000, 200, async () => {
        const bySlot = await running(service);
        return bySlot.size === replicas && [...bySlot.values()].every((ids) => ids.length === 1)
          ? bySlot
          : undefined;
      });

    await cluster.api(0, 'POST', '/api/deploy', spec('steady', 3));
    const steady = await exactly('steady', 3);
    out(`lab up: 3 servers on a 3-member etcd, ${HOSTS} agents; ${trials} trial(s) of ${kinds.join(', ')}`);

    const results: Trial[] = [];
    let failed: unknown;
    for (let n = 0; n < trials && failed === undefined; n++) {
      for (const kind of kinds) {
        checkInterrupted();
        let trial: Trial;
        try {
          trial = await runTrial(cluster, kind, `${kind.slice(0, 4)}${n}`, running);
        } catch (error) {
          // The figures so far are still printed; the run counts as failed.
          out(`${kind.padEnd(9)} #${n + 1} failed: ${errorText(error)}`);
          for (const line of cluster.output.slice(-60)) out(`  ${line}`);
          failed = error;
          break;
        }
        const now = await running('steady');
        for (const [slot, ids] of steady) if (now.get(slot)?.[0] !== ids[0]) trial.restarts++;
        results.push(trial);
        out(
          `${kind.padEnd(9)} #${n + 1}: accepted ${fmtMs(trial.acceptedMs)}, acting ${fmtMs(trial.actingMs)}, agents ${fmtMs(trial.agentsMs)}, leader ${fmtMs(trial.leaderMs)}; lost ${trial.lost}, duplicates ${trial.duplicates}, restarts ${trial.restarts}`,
        );
      }
    }

    out();
    const rows: string[][] = [];
    for (const kind of kinds) {
      const of = results.filter((r) => r.kind === kind);
      if (of.length === 0) continue;
      const stat = (label: string, values: number[], goalMs: number) =>
        rows.push([
          `${kind}: ${label}`,
          fmtMs(median(values)),
          fmtMs(percentile(values, 90)),
          fmtMs(Math.max(...values)),
          `≤ ${goalMs} ms`,
          median(values) <= goalMs ? 'met' : 'MISSED',
        ]);
      stat(
        'deploy via another server accepted',
        of.map((r) => r.acceptedMs),
        3000,
      );
      stat(
        'new leader acting (first placement)',
        of.map((r) => r.actingMs),
        3000,
      );
      stat(
        'agent failover (every agent ready)',
        of.map((r) => r.agentsMs),
        2000,
      );
      stat(
        'every server names the new leader',
        of.map((r) => r.leaderMs),
        3000,
      );
    }
    out(table(['measure', 'median', 'p90', 'max', 'goal', ''], rows, { rule: true }));
    const sum = (pick: (t: Trial) => number) => results.reduce((total, t) => total + pick(t), 0);
    out(
      `over ${results.length} trials: ${sum((t) => t.lost)} lost writes, ${sum((t) => t.duplicates)} duplicate replicas, ${sum((t) => t.restarts)} healthy replicas restarted`,
    );
    if (failed !== undefined) throw failed;
  } finally {
    await ha?.stop().catch((error: unknown) => out(`stopping the servers: ${errorText(error)}`));
    await lab?.down().catch((error: unknown) => out(`lab down: ${errorText(error)}`));
    await etcd.stop();
  }
}

async function nodesReady(ha: HaServers, via: number): Promise<boolean> {
  const answer = await ha.api(via, 'GET', '/api/nodes', undefined, 2000).catch(() => undefined);
  if (answer?.status !== 200) return false;
  return (
    nodeViewSchema
      .array()
      .parse(answer.body)
      .filter((n) => n.status === 'ready').length === HOSTS
  );
}

async function runTrial(
  ha: HaServers,
  kind: Kind,
  name: string,
  running: (service: string) => Promise<Map<string, string[]>>,
): Promise<Trial> {
  const old = await waitUntil('a leader', 20_000, 50, () => ha.leader());
  await waitUntil('every agent ready', 30_000, 50, async () =>
    (await nodesReady(ha, old)) ? true : undefined,
  );
  const [via, other] = ha.servers.filter((s) => s.index !== old).map((s) => s.index) as [number, number];
  const probe = `${name}-probe`;
  const t0 = performance.now();
  if (kind === 'kill') await ha.kill(old);
  else ha.partition(old);
  const since = () => performance.now() - t0;

  const accepted = (async () => {
    for (;;) {
      const answer = await ha.api(via, 'POST', '/api/deploy', spec(probe, 1), 3000).catch(() => undefined);
      if (answer && answer.status < 300) return since();
      await sleep(POLL_MS);
    }
  })();
  const acting = (async () => {
    await accepted;
    return await waitUntil('the probe placed', 30_000, POLL_MS, async () => {
      const answer = await ha
        .api(via, 'GET', `/api/services/${probe}`, undefined, 2000)
        .catch(() => undefined);
      if (answer?.status !== 200) return undefined;
      const view = serviceViewSchema.parse(answer.body);
      return view.containers.some((c) => c.node_id !== null) ? since() : undefined;
    });
  })();
  const elected = waitUntil('a new leader', 30_000, POLL_MS, async () => {
    const now = await ha.leader();
    return now !== undefined && now !== old ? { index: now, ms: since() } : undefined;
  });
  const leader = elected.then((e) => e.ms);
  // Asked of the new leader itself: it took its nodes from the store unreachable, so a ready node
  // is an agent that came over to it (an ex-leader cut off from etcd still lists its old agents).
  const agents = elected.then(({ index }) =>
    waitUntil('every agent on the new leader', 30_000, POLL_MS, async () =>
      (await nodesReady(ha, index)) ? since() : undefined,
    ),
  );
  // Observed at once (a failure is thrown below, by Promise.all), never left unhandled meanwhile.
  for (const measure of [accepted, acting, agents, leader]) measure.catch(() => {});
  // Writes through the other servers while leadership moves: each answered 2xx must exist after.
  const writes: string[] = [];
  for (let j = 0; j < 3; j++) {
    const service = `${name}-w${j}`;
    const answer = await ha
      .api(j % 2 === 0 ? via : other, 'POST', '/api/deploy', spec(service, 1), 3000)
      .catch(() => undefined);
    if (answer && answer.status < 300) writes.push(service);
    await sleep(200);
  }
  // Awaited together: one that fails must not be left rejecting unobserved behind another.
  await Promise.all([accepted, acting, agents, leader]);
  const trial: Trial = {
    kind,
    acceptedMs: await accepted,
    actingMs: await acting,
    agentsMs: await agents,
    leaderMs: await leader,
    lost: 0,
    duplicates: 0,
    restarts: 0,
  };

  for (const service of [probe, ...writes]) {
    const answer = await ha.api(via, 'GET', `/api/services/${service}`);
    if (answer.status === 404) {
      trial.lost++;
      continue;
    }
    await waitUntil(`${service} running`, 60_000, 200, async () =>
      (await running(service)).size >= 1 ? true : undefined,
    );
    // A moment for a second copy to show, if one was made: every container past one is a duplicate.
    await sleep(500);
    const bySlot = await running(service);
    for (const ids of bySlot.values()) trial.duplicates += ids.length - 1;
    trial.duplicates += Math.max(0, bySlot.size - 1);
  }
  // A write racing the leader's own on the same service is refused with 409 ("try again"), as
  // any client of an HA control plane may be told: the removal is retried until it is taken.
  for (const service of [probe, ...writes])
    await waitUntil(`${service} removal accepted`, 30_000, 100, async () => {
      const answer = await ha.api(via, 'DELETE', `/api/services/${service}`).catch(() => undefined);
      return answer !== undefined && (answer.status < 300 || answer.status === 404) ? true : undefined;
    });

  // The failed server returns, as a follower.
  if (kind === 'kill') await ha.startServer(old);
  else ha.heal(old);
  await waitUntil('the old leader back as a follower', 30_000, 50, async () => {
    const answer = await ha.api(old, 'GET', '/api/servers', undefined, 2000).catch(() => undefined);
    const body = answer?.body as { servers?: { url: string; leader: boolean }[] } | undefined;
    const leads = body?.servers?.find((s) => s.leader);
    return leads !== undefined && leads.url !== ha.servers[old]?.url ? true : undefined;
  });
  for (const service of [probe, ...writes])
    await waitUntil(`${service} gone`, 60_000, 200, async () =>
      (await running(service)).size === 0 ? true : undefined,
    );
  return trial;
}

runMain('bench:ha', main);
