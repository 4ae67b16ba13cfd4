/**
 * The dashboard proven against a real Prometheus (Grafana is not installable here): Debian's
 * prometheus (test/support/prometheus.ts, loopback, tmpfs, 1 s scrapes) scrapes a real `skiff up`
 * with real containers through `GET /metrics` and a viewer token. The test makes the rare events
 * happen (proxied requests, a crash, a failed pull and the rollout it rolls back), then asks
 * Prometheus for every panel's expression of dashboards/skiff.json, variables replaced as Grafana
 * would, confined to this run's target, and requires an answer with data: a misspelled metric
 * answers "success" with nothing. The HTTP proxy is the default one (`auto`: the agent's HAProxy
 * where the host has haproxy, as CI's does); test/proxy-metrics.test.ts checks both proxies' counts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dashboardSchema, panelQueries, substitute, withMatcher } from '../src/metrics/dashboard-queries.ts';
import { createdTokenViewSchema } from '../src/model/access-views.ts';
import type { ServiceView } from '../src/model/views.ts';
import { serviceViewSchema } from '../src/model/views.ts';
import { detectHaproxy } from '../src/net/haproxy/haproxy-process.ts';
import { docker } from './support/docker.ts';
import { eventually } from './support/eventually.ts';
import { SCRAPE_INTERVAL_S, TestPrometheus } from './support/prometheus.ts';
import { SkiffCluster } from './support/skiff-cluster.ts';

const ROOT = resolve(import.meta.dirname, '..');
const dashboard = dashboardSchema.parse(
  JSON.parse(readFileSync(join(ROOT, 'dashboards/skiff.json'), 'utf8')),
);
const HOST_PORT = 18_190 + (process.pid % 500);
const SPEC = {
  name: 'web',
  image: 'skiff-demo:v1',
  replicas: 2,
  ports: [{ container_port: 8080, host_port: HOST_PORT, app_protocol: 'http' }],
  resources: { memory_mb: 64 },
  health_check: { type: 'http', endpoint: 'http://localhost:8080/health', interval: '1s', retries: 2 },
  update: { min_healthy_time: '0s', auto_rollback: true },
};

let prometheus: TestPrometheus;
let skiff: SkiffCluster;
let run: string;

async function view(): Promise<ServiceView> {
  return serviceViewSchema.parse((await skiff.api('GET', '/api/services/web')).body);
}

/** Instant query confined to this run's target. */
async function query(expr: string) {
  return prometheus.query(withMatcher(expr, 'skiff_run', run));
}

describe('the dashboard against a real Prometheus', { timeout: 180_000 }, () => {
  before(async () => {
    prometheus = await TestPrometheus.start();
    skiff = await SkiffCluster.start('up', { serverArgs: ['--stats-interval', '1s'] });
    run = `run-${skiff.port}-${Date.now()}`;
    // A viewer's token is all Prometheus needs.
    const created = await skiff.api('POST', '/api/tokens', { name: 'prometheus', role: 'viewer' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    prometheus.addTarget(run, `127.0.0.1:${skiff.port}`, createdTokenViewSchema.parse(created.body).token);
  });
  after(async () => {
    if (process.exitCode) {
      console.error(skiff?.output.slice(-40).join('\n'));
      console.error(prometheus?.output.slice(-20).join('\n'));
    }
    prometheus?.removeTarget(run);
    await skiff?.stop();
    await prometheus?.stop();
  });

  test('Prometheus scrapes the server with a viewer token', async () => {
    await eventually('the target up', async () => (await query('up'))[0]?.value[1] === '1' || undefined, {
      timeoutMs: 20_000,
      intervalMs: 250,
    });
  });

  test('every panel of the dashboard has data once the cluster has lived a little', async () => {
    assert.equal((await skiff.api('POST', '/api/deploy', SPEC)).status, 201);
    await eventually('2 healthy replicas', async () => ((await view()).healthy === 2 ? true : undefined), {
      timeoutMs: 60_000,
    });
    // Requests through the agent's HTTP proxy, once its endpoints have arrived.
    await eventually('the proxy to answer', async () => {
      const response = await fetch(`http://127.0.0.1:${HOST_PORT}/`);
      await response.text();
      return response.status === 200 || undefined;
    });
    for (let i = 0; i < 20; i++) {
      const response = await fetch(`http://127.0.0.1:${HOST_PORT}/`);
      assert.equal(response.status, 200);
      await response.text();
    }
    // Through HAProxy wherever the host has it (the default, auto).
    if (!('problem' in (await detectHaproxy())))
      assert.ok(
        skiff.output.some((line) => line.includes('http proxy: haproxy')),
        'the agent runs HAProxy',
      );
    // A crash: the container is killed behind Skiff's back, and replaced.
    const victim = (await skiff.containers('web')).find((c) => c.state === 'running');
    assert.ok(victim);
    await docker.getContainer(victim.id).kill();
    await eventually(
      'the crashed replica replaced',
      async () => {
        const web = await view();
        return web.healthy === 2 && web.containers.some((c) => c.restart_count > 0) ? true : undefined;
      },
      { timeoutMs: 60_000 },
    );
    // A rollout to an image that cannot be pulled (a closed port on loopback) rolls back.
    await skiff.api('POST', '/api/deploy', { ...SPEC, image: '127.0.0.1:1/none:latest' });
    await eventually(
      'the rollout rolled back',
      async () => ((await view()).rollout?.state === 'rolled_back' ? true : undefined),
      { timeoutMs: 60_000 },
    );

    // The counters behind the rare-event panels moved (agents report every 5 s).
    await eventually(
      'restarts, a failed pull, a rollback and 21 proxied requests in Prometheus',
      async () => {
        const [restarts, pulls, rollbacks, proxied, timed] = await Promise.all([
          query('sum(skiff_replica_restarts_total{service="web"})'),
          query('sum(skiff_image_pulls_total{service="web",result="failure"})'),
          query('sum(skiff_rollouts_total{service="web",result="rolled_back"})'),
          query('sum(skiff_proxy_requests_total{service="web",code="2xx"})'),
          query('sum(skiff_proxy_request_duration_seconds_count{service="web"})'),
        ]);
        const value = (r: typeof restarts) => Number(r[0]?.value[1] ?? 0);
        // The proxy panels with the requests above in them, not only the zeros they start from.
        return value(restarts) >= 1 &&
          value(pulls) >= 1 &&
          value(rollbacks) === 1 &&
          value(proxied) >= 21 &&
          value(timed) >= 21
          ? true
          : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );

    // As Grafana sends them: $__rate_interval is 4 scrape intervals at this resolution.
    const values = {
      rateInterval: `${4 * SCRAPE_INTERVAL_S}s`,
      range: '10m',
      variables: { service: '.*', node: '.*' },
    };
    const queries = panelQueries(dashboard).map((q) => ({ ...q, expr: substitute(q.expr, values) }));
    let empty: string[] = [];
    // The panels still empty at the deadline are the failure's message.
    await eventually(
      'every panel query to return data',
      async () => {
        empty = [];
        for (const q of queries) {
          const result = await query(q.expr);
          if (result.length === 0) empty.push(`${q.panel} (${q.refId}): ${q.expr}`);
        }
        return empty.length === 0 ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 1000 },
    ).catch(() => undefined);
    assert.deepEqual(empty, []);
  });

  test('a misspelled metric answers success with no data, so an empty answer is a failure', async () => {
    assert.deepEqual(await query('skiff_service_replica_desired'), []);
    assert.ok((await query('skiff_service_replicas_desired')).length > 0);
  });

  test('the shipped alert rules load and evaluate against the live series', async () => {
    const response = await fetch(`${prometheus.url}/api/v1/rules`);
    const text = await response.text();
    for (const alert of [
      'SkiffServiceDegraded',
      'SkiffReplicaCrashLooping',
      'SkiffNodeDown',
      'SkiffRolloutRolledBack',
    ])
      assert.match(text, new RegExp(`"name":"${alert}"`));
    assert.doesNotMatch(text, /"health":"err"/);
    // The rollback of the test above fires its alert (it has no `for`).
    await eventually(
      'SkiffRolloutRolledBack firing for web',
      async () => {
        const alerts = await (await fetch(`${prometheus.url}/api/v1/alerts`)).text();
        return /"alertname":"SkiffRolloutRolledBack"[^}]*"service":"web"/.test(alerts) || undefined;
      },
      { timeoutMs: 15_000, intervalMs: 500 },
    );
  });
});
