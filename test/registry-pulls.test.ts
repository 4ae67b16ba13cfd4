/**
 * Pulls from a real private registry (Debian's docker-registry with htpasswd and TLS from a test
 * CA: test/support/registry.ts) on this machine's engine, through `skiff up`:
 * - without a credential the replica fails, saying the registry needs one and how to store it,
 *   and backs off (the retries spread out, never a tight loop); with a wrong one it says the
 *   credential was refused; `skiff registry login` with the right one, and it runs;
 * - a deploy pins the tag to the registry's digest; a new build pushed under the same tag does not
 *   reach the running service (a replaced replica runs the pinned digest, not pulled again), and a
 *   new deploy resolves anew and rolls to it;
 * - a registry that cannot answer at deploy leaves the tag unpinned, with an event saying so.
 * Only the registry this test started (or CI's shared one) is contacted; images are pushed from
 * the local demo images.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ServiceView } from '../src/model/views.ts';
import { serviceViewSchema } from '../src/model/views.ts';
import { docker } from './support/docker.ts';
import { eventually } from './support/eventually.ts';
import type { PushedImage, TestRegistry } from './support/registry.ts';
import { pushImage, removeLocalImage, sharedRegistry } from './support/registry.ts';
import { SkiffCluster } from './support/skiff-cluster.ts';

const REPO = `reg-pulls-${process.pid}`;

describe('registry pulls with credentials', { timeout: 180_000 }, () => {
  let skiff: SkiffCluster;
  let registry: TestRegistry;
  let app: PushedImage;
  const pushedRefs: string[] = [];
  before(async () => {
    registry = await sharedRegistry();
    app = await pushImage(registry, 'skiff-demo:v1', `${REPO}/app:v1`);
    pushedRefs.push(app.reference, app.pinned);
    skiff = await SkiffCluster.start('up');
  });
  after(async () => {
    if (process.exitCode) console.error(skiff?.output.slice(-60).join('\n'));
    await skiff?.stop();
    for (const reference of pushedRefs) await removeLocalImage(reference).catch(() => {});
  });

  const view = async (name: string): Promise<ServiceView> =>
    serviceViewSchema.parse((await skiff.api('GET', `/api/services/${name}`)).body);
  const login = async (password: string) => {
    const result = await skiff.cli(
      ['registry', 'login', registry.host, '--username', registry.username, '--password-stdin'],
      { input: `${password}\n` },
    );
    assert.equal(result.code, 0, result.stderr);
    return result;
  };
  const events = async (service: string) =>
    ((await skiff.api('GET', `/api/events?service=${service}&limit=500`)).body as { message: string }[]).map(
      (e) => e.message,
    );

  test('no credential: a clear reason and a backoff; a wrong one: refused; the right one: it runs', async () => {
    const deployed = await skiff.api('POST', '/api/deploy', { name: 'reg-pull', image: app.reference });
    assert.equal(deployed.status, 201, JSON.stringify(deployed.body));
    // Every retry is seen as a new retry_at; they must spread out (1 s, 2 s, 4 s … by the restart policy).
    const retries = new Set<string>();
    // The wording of a loopback registry (which the engine also tries over plain HTTP) or another.
    const needs = `needs a credential and none is stored (skiff registry login ${registry.host})`;
    await eventually(
      'three retries of the failing pull, each saying why',
      async () => {
        const replica = (await view('reg-pull')).containers[0];
        if (replica?.retry_at) retries.add(replica.retry_at);
        if (replica?.message && !replica.message.includes(needs))
          throw new Error(`reason: ${replica.message}`);
        return retries.size >= 4 ? replica : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 50 },
    );
    const times = [...retries].map((t) => Date.parse(t)).sort((a, b) => a - b);
    const gaps = times.slice(1).map((t, i) => t - (times[i] ?? t));
    assert.ok(
      gaps.every((gap, i) => i === 0 || gap >= (gaps[i - 1] ?? 0) * 1.5),
      `the retries back off: gaps ${gaps.join(', ')} ms`,
    );
    assert.ok((gaps.at(-1) ?? 0) >= 3000, `the last gap is seconds, not a tight loop: ${gaps.join(', ')} ms`);
    const ps = await skiff.cli(['ps', 'reg-pull']);
    assert.ok(ps.stdout.includes('needs a credential'), ps.stdout);

    await login('not-the-password');
    await eventually('the replica says the stored credential was refused', async () => {
      const replica = (await view('reg-pull')).containers[0];
      return replica?.message?.includes(
        `refused the stored credential (skiff registry login ${registry.host} to replace it)`,
      )
        ? replica
        : undefined;
    });

    const listed = await skiff.cli(['registry', 'ls']);
    assert.match(
      listed.stdout,
      new RegExp(`${registry.host.replaceAll('.', '\\.')}\\s+${registry.username}`),
    );
    assert.ok(!listed.stdout.includes('not-the-password'));
    await login(registry.password);
    await eventually(
      'the replica pulled and running',
      async () => {
        const current = await view('reg-pull');
        return current.running === 1 ? current : undefined;
      },
      { timeoutMs: 90_000 },
    );
    const messages = await events('reg-pull');
    assert.ok(
      messages.some((m) => m === `Pulled image ${app.reference}`),
      messages.join('\n'),
    );
    assert.ok(await docker.getImage(app.reference).inspect(), 'the engine holds the pulled tag');
  });

  test('a deploy pins the digest; a new build under the tag reaches only a new deploy', async () => {
    await login(registry.password);
    const tag = `${REPO}/pinned:current`;
    const v1 = await pushImage(registry, 'skiff-demo:v1', tag);
    pushedRefs.push(v1.reference, v1.pinned);
    const deployed = await skiff.api('POST', '/api/deploy', { name: 'reg-pin', image: v1.reference });
    assert.equal(deployed.status, 201, JSON.stringify(deployed.body));
    const pinnedImage = `${v1.reference}@${v1.digest}`;
    assert.equal(serviceViewSchema.parse(deployed.body).image, pinnedImage);
    const first = await eventually('reg-pin running', async () => {
      const current = await view('reg-pin');
      const replica = current.containers[0];
      return current.running === 1 && replica?.id ? replica : undefined;
    });
    const inspected = await docker.getContainer(first.id ?? '').inspect();
    assert.equal(inspected.Config.Image, pinnedImage, 'the container runs the pinned reference');

    // A new build under the same tag, after the deploy.
    const v2 = await pushImage(registry, 'skiff-demo:v2', tag);
    pushedRefs.push(v2.pinned);
    assert.notEqual(v2.digest, v1.digest);
    // The running replica dies: its replacement runs the pinned digest, present, not pulled again.
    await docker.getContainer(first.id ?? '').kill();
    const replaced = await eventually('a replacement running', async () => {
      const current = await view('reg-pin');
      const replica = current.containers[0];
      return current.running === 1 && replica?.id && replica.id !== first.id
        ? { current, replica }
        : undefined;
    });
    assert.equal(replaced.current.image, pinnedImage);
    assert.equal(replaced.current.revision, 1);
    assert.equal((await docker.getContainer(replaced.replica.id ?? '').inspect()).Config.Image, pinnedImage);
    const pulls = (await events('reg-pin')).filter((m) => m.startsWith('Pulling image'));
    assert.deepEqual(pulls, [`Pulling image ${pinnedImage}`], 'pulled once, not again for the replacement');

    // A new deploy of the same spec resolves the tag anew: a new revision on the new digest.
    const again = await skiff.api('POST', '/api/deploy', { name: 'reg-pin', image: v1.reference });
    assert.equal(again.status, 200, JSON.stringify(again.body));
    const rolled = serviceViewSchema.parse(again.body);
    assert.equal(rolled.image, `${v1.reference}@${v2.digest}`);
    assert.equal(rolled.revision, 2);
    await eventually('revision 2 running the new digest', async () => {
      const current = await view('reg-pin');
      const replica = current.containers[0];
      if (current.running !== 1 || replica?.revision !== 2 || !replica.id) return undefined;
      return (
        (await docker.getContainer(replica.id).inspect()).Config.Image === `${v1.reference}@${v2.digest}`
      );
    });
    const messages = await events('reg-pin');
    assert.ok(
      messages.some((m) => m.includes(`resolved to ${v2.digest}`)),
      messages.join('\n'),
    );
  });

  test('a registry that cannot answer at deploy: the tag runs unpinned, and an event says so', async () => {
    // A closed port on loopback, given a credential so the deploy asks it.
    const closed = '127.0.0.1:1';
    const stored = await skiff.cli(['registry', 'login', closed, '--username', 'u', '--password-stdin'], {
      input: 'p\n',
    });
    assert.equal(stored.code, 0, stored.stderr);
    const deployed = await skiff.api('POST', '/api/deploy', {
      name: 'reg-away',
      image: `${closed}/reg/none:v1`,
      replicas: 0,
    });
    assert.equal(deployed.status, 201, JSON.stringify(deployed.body));
    assert.equal(serviceViewSchema.parse(deployed.body).image, `${closed}/reg/none:v1`);
    const messages = await events('reg-away');
    assert.ok(
      messages.some((m) =>
        m.startsWith(`Image ${closed}/reg/none:v1 not resolved to a digest (registry ${closed} unreachable:`),
      ),
      messages.join('\n'),
    );
    const logout = await skiff.cli(['registry', 'logout', closed]);
    assert.equal(logout.code, 0, logout.stderr);
  });
});
