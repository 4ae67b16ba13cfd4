/**
 * Compose stacks on a real engine, through the real CLI: a three-service stack deploys and its
 * services reach each other by their Compose names (one of them only on the port its image
 * declares); a second stack, on its own network, cannot reach the first; a changed file rolls only
 * the service that changed; `stack rm` leaves no service, container or network behind. The rolled and removed services run an image whose PID 1
 * ignores SIGTERM, as most real images do.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dockerNetworkName } from '../src/model/addressing.ts';
import { stackViewSchema } from '../src/model/stack.ts';
import { docker, execIn } from './support/docker.ts';
import { eventually } from './support/eventually.ts';
import { SkiffCluster } from './support/skiff-cluster.ts';

const SECRET = 'stack-secret-value-42';
let skiff: SkiffCluster;
let dir: string;

const shop = `
services:
  web:
    # No ports nor expose: reached on the port its image declares (EXPOSE 8080), as on Swarm.
    image: skiff-demo:v1-noterm
    deploy: { replicas: 2 }
  api:
    image: skiff-demo:v1-noterm
    expose: ["8080"]
    secrets: [api_key]
    depends_on: [web]
  client:
    image: skiff-demo:v1
secrets:
  api_key:
    file: ./api_key.txt
`;
const shopOverride = `
services:
  api:
    image: skiff-demo:v2-noterm
`;
const blog = `
services:
  client:
    image: skiff-demo:v1
`;

async function stack(name: string) {
  const res = await skiff.api('GET', `/api/stacks/${name}`);
  return res.status === 200 ? stackViewSchema.parse(res.body) : undefined;
}

/** The stack once every service runs all its replicas of its current revision. */
async function converged(name: string) {
  return await eventually(
    `stack ${name} running`,
    async () => {
      const view = await stack(name);
      return view?.services.every((s) => s.status === 'running' && s.running === s.replicas)
        ? view
        : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 250 },
  );
}

async function containerOf(stackName: string, service: string): Promise<string> {
  const view = await stack(stackName);
  const id = view?.services.find((s) => s.name === `${stackName}-${service}`)?.containers[0]?.id;
  assert.ok(id, `${stackName}-${service} has a container`);
  return id;
}

describe('compose stacks on one host', { timeout: 300_000 }, () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-stacks-'));
    writeFileSync(join(dir, 'compose.yml'), shop);
    writeFileSync(join(dir, 'override.yml'), shopOverride);
    writeFileSync(join(dir, 'blog.yml'), blog);
    writeFileSync(join(dir, 'api_key.txt'), SECRET);
    skiff = await SkiffCluster.start('up');
  });
  after(async () => {
    if (process.exitCode) console.error(skiff?.output.slice(-40).join('\n'));
    await skiff?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a three-service stack deploys; its services reach each other by their Compose names', async () => {
    const deployed = await skiff.cli(['stack', 'deploy', '-c', join(dir, 'compose.yml'), 'shop']);
    assert.equal(deployed.code, 0, deployed.stderr);
    assert.deepEqual(deployed.stdout.trim().split('\n').sort(), [
      'Creating service shop-api',
      'Creating service shop-client',
      'Creating service shop-web',
    ]);
    assert.match(deployed.stderr, /compose\.yml:11: services\.api\.depends_on: ignored/);
    await converged('shop');
    const client = await containerOf('shop', 'client');
    const seen = new Set<string>();
    await eventually('both web replicas answer as web', async () => {
      const { ok, out } = await execIn(client, 'TIMEOUT=3 http-get http://web:8080/');
      if (ok) seen.add(out.trim());
      return seen.size === 2;
    });
    assert.deepEqual([...seen].sort(), [
      'hello from shop-web-0 version v1',
      'hello from shop-web-1 version v1',
    ]);
    const api = await eventually('api answers by its Compose name', async () => {
      const answer = await execIn(client, 'TIMEOUT=3 http-get http://api:8080/');
      return answer.ok ? answer : undefined;
    });
    assert.equal(api.out.trim(), 'hello from shop-api-0 version v1');
    const secret = await execIn(await containerOf('shop', 'api'), 'cat /run/secrets/api_key');
    assert.deepEqual(secret, { ok: true, out: SECRET });
    const ls = await skiff.cli(['stack', 'ls']);
    assert.match(ls.stdout, /^shop\s+3\s+4\/4$/m);
  });

  test('a second stack, on its own network, cannot reach the first', async () => {
    const deployed = await skiff.cli(['stack', 'deploy', '-c', join(dir, 'blog.yml'), 'blog']);
    assert.equal(deployed.code, 0, deployed.stderr);
    await converged('blog');
    const client = await containerOf('blog', 'client');
    for (const name of ['api', 'shop-api', 'web']) {
      const lookup = await execIn(client, `nslookup ${name}.skiff`);
      assert.equal(lookup.ok, false, `${name} resolves from blog: ${lookup.out}`);
      const reach = await execIn(client, `TIMEOUT=2 http-get http://${name}:8080/`);
      assert.equal(reach.ok, false, `${name} answers blog: ${reach.out}`);
    }
    // Its own name space works: the client finds itself by its Compose name.
    const own = await execIn(client, 'nslookup client.skiff');
    assert.ok(own.ok, own.out);
  });

  test('a changed file rolls only the service that changed', async () => {
    const before = {
      web: (await stack('shop'))?.services.find((s) => s.name === 'shop-web')?.containers.map((c) => c.id),
      client: await containerOf('shop', 'client'),
    };
    const deployed = await skiff.cli([
      'stack',
      'deploy',
      '-c',
      join(dir, 'compose.yml'),
      '-c',
      join(dir, 'override.yml'),
      'shop',
    ]);
    assert.equal(deployed.code, 0, deployed.stderr);
    assert.deepEqual(deployed.stdout.trim().split('\n').sort(), [
      'Service shop-client unchanged',
      'Service shop-web unchanged',
      'Updating service shop-api',
    ]);
    const view = await eventually('api runs v2', async () => {
      const current = await converged('shop');
      const api = current.services.find((s) => s.name === 'shop-api');
      return api?.image === 'skiff-demo:v2-noterm' && api.containers.length === 1 ? current : undefined;
    });
    assert.deepEqual(
      view.services.find((s) => s.name === 'shop-web')?.containers.map((c) => c.id),
      before.web,
      'web kept its containers',
    );
    assert.equal(await containerOf('shop', 'client'), before.client, 'client kept its container');
  });

  test('stack rm leaves no service, container or network behind', async () => {
    const removed = await skiff.cli(['stack', 'rm', 'shop']);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal((await skiff.api('GET', '/api/stacks/shop')).status, 404);
    await eventually(
      'no container of shop',
      async () => {
        const left = (await skiff.containers()).filter((c) => c.name.startsWith('shop-'));
        return left.length === 0;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    const network = dockerNetworkName(skiff.clusterId, 'shop-default');
    await eventually(
      `network ${network} removed`,
      async () => {
        const found = await docker.listNetworks({ filters: { name: [network] } });
        return !found.some((n) => n.Name === network);
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    const blogNetwork = dockerNetworkName(skiff.clusterId, 'blog-default');
    const kept = await docker.listNetworks({ filters: { name: [blogNetwork] } });
    assert.ok(
      kept.some((n) => n.Name === blogNetwork),
      'the other stack keeps its network',
    );
  });
});
