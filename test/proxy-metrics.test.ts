/**
 * The agent's HTTP proxy metrics in a live `skiff up`, through either proxy: the built-in one
 * (`--http-proxy builtin`) and the agent's own HAProxy (`--http-proxy haproxy`, its request log).
 * Requests through a published port, some answered 404, then `GET /metrics` must count exactly
 * those answers by status class and time each of them in the latency histogram. Real Docker
 * (skiff-demo:v1), real haproxy (CI installs it).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ServiceView } from '../src/model/views.ts';
import { serviceViewSchema } from '../src/model/views.ts';
import { detectHaproxy } from '../src/net/haproxy/haproxy-process.ts';
import { eventually } from './support/eventually.ts';
import { SkiffCluster } from './support/skiff-cluster.ts';

const HOST_PORT = 18_700 + (process.pid % 500);

/** The sum of `name`'s samples whose labels include every one of `labels`. */
function sumOf(text: string, name: string, labels: Readonly<Record<string, string>>): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const close = line.lastIndexOf('}');
    const labelText = line.slice(name.length + 1, close);
    if (Object.entries(labels).every(([key, value]) => labelText.includes(`${key}="${value}"`)))
      sum += Number(line.slice(close + 2));
  }
  return sum;
}

for (const mode of ['builtin', 'haproxy'] as const) {
  describe(`proxy metrics through the ${mode} proxy`, { timeout: 120_000 }, () => {
    let skiff: SkiffCluster;
    before(async () => {
      if (mode === 'haproxy') {
        const found = await detectHaproxy();
        assert.ok(
          !('problem' in found),
          `haproxy is needed here (apt-get install haproxy): ${JSON.stringify(found)}`,
        );
      }
      skiff = await SkiffCluster.start('up', { serverArgs: ['--http-proxy', mode] });
    });
    after(async () => {
      if (process.exitCode) console.error(skiff?.output.slice(-40).join('\n'));
      await skiff?.stop();
    });

    test('every answer is counted by class and timed, per service', async () => {
      if (mode === 'haproxy') assert.ok(skiff.output.some((line) => line.includes('http proxy: haproxy')));
      const spec = {
        name: 'web',
        image: 'skiff-demo:v1',
        replicas: 2,
        ports: [{ container_port: 8080, host_port: HOST_PORT, app_protocol: 'http' }],
        health_check: { type: 'http', endpoint: 'http://localhost:8080/health', interval: '1s', retries: 2 },
      };
      assert.equal((await skiff.api('POST', '/api/deploy', spec)).status, 201);
      const view = async (): Promise<ServiceView> =>
        serviceViewSchema.parse((await skiff.api('GET', '/api/services/web')).body);
      await eventually('2 healthy replicas', async () => ((await view()).healthy === 2 ? true : undefined), {
        timeoutMs: 60_000,
      });
      // Every answer the proxy sent, by class: the metrics must say the same.
      const answered = new Map<string, number>();
      const call = async (path: string): Promise<number> => {
        const response = await fetch(`http://127.0.0.1:${HOST_PORT}${path}`);
        await response.text();
        const statusClass = `${Math.floor(response.status / 100)}xx`;
        answered.set(statusClass, (answered.get(statusClass) ?? 0) + 1);
        return response.status;
      };
      await eventually(
        'the proxy to answer',
        async () => (await call('/').catch(() => 0)) === 200 || undefined,
      );
      for (let i = 0; i < 20; i++) assert.equal(await call('/'), 200);
      for (let i = 0; i < 3; i++) assert.equal(await call('/no-such-page'), 404);
      const total = [...answered.values()].reduce((a, b) => a + b, 0);

      let last = '';
      await eventually(
        `the metrics to count ${JSON.stringify(Object.fromEntries(answered))}`,
        async () => {
          const response = await fetch(`http://127.0.0.1:${skiff.port}/metrics`, {
            headers: { authorization: `Bearer ${skiff.token}` },
          });
          last = await response.text();
          // Every class, those never answered included (0).
          const counted = ['2xx', '3xx', '4xx', '5xx', 'error'].every(
            (code) =>
              sumOf(last, 'skiff_proxy_requests_total', { service: 'web', code }) ===
              (answered.get(code) ?? 0),
          );
          const timed = sumOf(last, 'skiff_proxy_request_duration_seconds_count', { service: 'web' });
          return counted && timed === total ? true : undefined;
        },
        { timeoutMs: 20_000, intervalMs: 500 },
      ).catch((error: unknown) => {
        console.error(
          last
            .split('\n')
            .filter((l) => l.startsWith('skiff_proxy_'))
            .join('\n'),
        );
        throw error;
      });
      // Timed one by one: loopback answers all fall in the lowest buckets, none past a second.
      assert.equal(
        sumOf(last, 'skiff_proxy_request_duration_seconds_bucket', { service: 'web', le: '1' }),
        total,
      );
    });
  });
}
