/**
 * Bounds at the API: what Docker would refuse, what would overflow a timer, what would make an
 * answer huge. Each refusal is a small JSON 400 (or a 409 naming who holds a port) with details.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { errorBodySchema } from '../model/views.ts';
import { MAX_DETAILS } from './errors.ts';
import type { ApiResponse, Fixture } from './test-fixture.ts';
import { AUTH, createFixture } from './test-fixture.ts';

const GOOD = { name: 'api', image: 'skiff-demo:v1', replicas: 0 };
const SERVER_PORT = 8080;

function refused(res: ApiResponse, field: string, status = 400): { error: string; details: string[] } {
  assert.equal(res.status, status, res.text.slice(0, 300));
  const body = errorBodySchema.parse(res.body);
  assert.ok(body.details && body.details.length > 0, `details in ${res.text.slice(0, 200)}`);
  assert.ok(
    body.details.some((d) => d.startsWith(field)),
    `details ${JSON.stringify(body.details).slice(0, 300)} should name ${field}`,
  );
  return { error: body.error, details: body.details };
}

describe('API bounds', () => {
  let f: Fixture;
  const deploy = (body: unknown) => f.call('POST', '/api/deploy', body);
  before(() => {
    f = createFixture({ serverPort: SERVER_PORT });
  });
  after(() => f.close());

  test('durations over an hour, and a health interval under 100ms, are refused', async () => {
    const check = { type: 'tcp', port: 80 };
    refused(await deploy({ ...GOOD, health_check: { ...check, interval: '600h' } }), 'health_check.interval');
    refused(await deploy({ ...GOOD, health_check: { ...check, interval: '0s' } }), 'health_check.interval');
    refused(await deploy({ ...GOOD, health_check: { ...check, timeout: '2h' } }), 'health_check.timeout');
    refused(
      await deploy({ ...GOOD, health_check: { ...check, start_period: '61m' } }),
      'health_check.start_period',
    );
    refused(await deploy({ ...GOOD, restart_policy: { delay: '99999999999h' } }), 'restart_policy.delay');
    refused(await deploy({ ...GOOD, restart_policy: { max_delay: '2h' } }), 'restart_policy.max_delay');
    refused(await deploy({ ...GOOD, update: { drain_timeout: '1h1s' } }), 'update.drain_timeout');
    refused(await deploy({ ...GOOD, stop_grace_period: '3h' }), 'stop_grace_period');
    const fine = await deploy({
      ...GOOD,
      health_check: { ...check, interval: '1h' },
      stop_grace_period: '1h',
    });
    assert.equal(fine.status, 201, fine.text);
  });

  test('500k numbers in command: a small 400, fast', async () => {
    const body = JSON.stringify({ ...GOOD, command: Array.from({ length: 500_000 }, (_, i) => i % 10) });
    assert.ok(body.length > 900 * 1024 && body.length <= 1024 * 1024, String(body.length));
    const started = performance.now();
    const res = await deploy(body);
    const elapsedMs = performance.now() - started;
    const { error, details } = refused(res, 'command');
    assert.ok(res.text.length < 4096, `answer of ${res.text.length} bytes`);
    assert.ok(details.length <= MAX_DETAILS + 1);
    assert.ok(error.length < 400, error);
    assert.ok(elapsedMs < 300, `took ${elapsedMs.toFixed(0)} ms`);
  });

  test('many problems: the first 20 listed, the rest counted, and not repeated in error', async () => {
    const env = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`${i}BAD`, 'x']));
    const { error, details } = refused(await deploy({ ...GOOD, env }), 'env');
    assert.equal(details.length, MAX_DETAILS + 1);
    assert.match(details.at(-1) ?? '', /and 30 more problems/);
    assert.match(error, /\(and 49 more, see details\)$/);
    assert.ok(!details.slice(1).some((d) => error.includes(d)), 'details past the first are not in error');
  });

  test('arrays and maps are bounded: command, env, labels, health command, constraints, ports, networks', async () => {
    const many = (n: number) => Array.from({ length: n }, (_, i) => `a${i}`);
    refused(await deploy({ ...GOOD, command: many(1025) }), 'command');
    refused(await deploy({ ...GOOD, env: Object.fromEntries(many(1025).map((k) => [k, 'v'])) }), 'env');
    refused(await deploy({ ...GOOD, labels: Object.fromEntries(many(257).map((k) => [k, 'v'])) }), 'labels');
    refused(
      await deploy({ ...GOOD, health_check: { type: 'exec', command: many(1025) } }),
      'health_check.command',
    );
    refused(
      await deploy({ ...GOOD, placement: { constraints: many(33).map((k) => `${k}==x`) } }),
      'placement.constraints',
    );
    refused(await deploy({ ...GOOD, ports: many(65).map((_, i) => ({ container_port: i + 1 })) }), 'ports');
    refused(await deploy({ ...GOOD, networks: many(9) }), 'networks');
    refused(await deploy({ ...GOOD, env: { LONG: 'x'.repeat(65 * 1024) } }), 'env.LONG');
  });

  test('every 400 carries details: query parameters, JSON syntax, empty bodies', async () => {
    const cases: [string, string, string | undefined][] = [
      ['GET', '/api/events?since=yesterday', undefined],
      ['GET', '/api/events?limit=abc', undefined],
      ['GET', '/api/events?follow=maybe', undefined],
      ['POST', '/api/deploy', '{"name": '],
      ['POST', '/api/deploy', ''],
      ['POST', '/api/services/api/scale', 'nope'],
      ['POST', '/api/services/api/rollback', '{bad'],
    ];
    for (const [method, path, body] of cases) {
      const res = await f.raw(path, {
        method,
        headers: { ...AUTH, 'content-type': 'application/json' },
        body: body ?? null,
      });
      assert.equal(res.status, 400, `${method} ${path}: ${res.text}`);
      const parsed = errorBodySchema.parse(res.body);
      assert.ok(parsed.details && parsed.details.length > 0, `${method} ${path} ${body}: ${res.text}`);
    }
  });

  test('what Docker would refuse: bad images, tiny cpus, an empty program, a network twice', async () => {
    for (const image of [
      'a\u0000b',
      'x\u007f',
      'tab\there',
      'x'.repeat(100_000),
      'Upper/Case:1',
      'a:',
      'a//b',
    ]) {
      const res = await deploy({ ...GOOD, image });
      const { details } = refused(res, 'image');
      assert.ok(res.text.length < 2048, `answer of ${res.text.length} bytes for an image of ${image.length}`);
      assert.equal(details.length, 1, JSON.stringify(details));
    }
    for (const image of [
      '127.0.0.1:1/none:latest',
      'registry.example.com:5000/team/app:v2',
      `app@sha256:${'a'.repeat(64)}`,
    ]) {
      const res = await deploy({ ...GOOD, name: 'img', image });
      assert.ok(res.status === 201 || res.status === 200, `${image}: ${res.text}`);
    }
    refused(await deploy({ ...GOOD, resources: { cpus: 0.0001 } }), 'resources.cpus');
    assert.equal((await deploy({ ...GOOD, name: 'cpu', resources: { cpus: 0.01 } })).status, 201);
    refused(await deploy({ ...GOOD, command: [''] }), 'command.0');
    refused(await deploy({ ...GOOD, command: ['  ', 'x'] }), 'command.0');
    assert.equal((await deploy({ ...GOOD, name: 'cmd', command: ['sh', '-c', ''] })).status, 201);
    refused(
      await deploy({ ...GOOD, health_check: { type: 'exec', command: [''] } }),
      'health_check.command.0',
    );
    refused(await deploy({ ...GOOD, networks: ['front', 'front'] }), 'networks');
  });

  test('a published port another service holds is a 409 naming it; the server port too', async () => {
    const web = await deploy({ ...GOOD, name: 'web', ports: [{ container_port: 80, host_port: 8000 }] });
    assert.equal(web.status, 201, web.text);
    const taken = await deploy({ ...GOOD, name: 'web2', ports: [{ container_port: 80, host_port: 8000 }] });
    assert.equal(taken.status, 409, taken.text);
    assert.match(errorBodySchema.parse(taken.body).error, /port 8000 is already published by service web/);
    const hostMode = await deploy({
      ...GOOD,
      name: 'web3',
      ports: [{ container_port: 80, host_port: 8000, mode: 'host' }],
    });
    assert.equal(hostMode.status, 409, 'a host-mode port collides with an ingress one on every node');
    const udp = await deploy({
      ...GOOD,
      name: 'dns',
      ports: [{ container_port: 53, host_port: 8000, protocol: 'udp' }],
    });
    assert.equal(udp.status, 201, 'udp 8000 is another port');
    const again = await deploy({
      ...GOOD,
      name: 'web',
      image: 'skiff-demo:v2',
      ports: [{ container_port: 80, host_port: 8000 }],
    });
    assert.equal(again.status, 200, 'a service keeps its own port across updates');
    const own = await deploy({
      ...GOOD,
      name: 'api2',
      ports: [{ container_port: 80, host_port: SERVER_PORT }],
    });
    assert.equal(own.status, 409, own.text);
    assert.match(errorBodySchema.parse(own.body).error, /Skiff server's own port/);
    assert.equal((await f.call('GET', '/api/services/web2')).status, 404, 'nothing stored');
  });
});
