/**
 * A lab host's engine pulls from a private registry on the lab bridge: the test registry
 * (htpasswd + TLS from a test CA, test/support/registry.ts) listens on the bridge's address, and
 * the lab's engines trust its CA through /etc/docker/certs.d (they share this machine's
 * filesystem). With `skiff registry login`, a deploy pins the tag to the registry's digest and the
 * lab host's agent pulls that digest with the credential and runs it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Docker from 'dockerode';
import { serviceViewSchema } from '../src/model/views.ts';
import { eventually } from './support/eventually.ts';
import { Lab } from './support/lab.ts';
import type { PushedImage, StartedRegistry } from './support/registry.ts';
import { pushImage, removeLocalImage, startRegistry } from './support/registry.ts';
import { SkiffCluster } from './support/skiff-cluster.ts';

let lab: Lab;
let registry: StartedRegistry;
let skiff: SkiffCluster;
let pushed: PushedImage;

describe('a lab host pulls from the registry on the bridge', { timeout: 300_000 }, () => {
  before(async () => {
    lab = await Lab.up(1);
    registry = await startRegistry({ address: Lab.gateway });
    pushed = await pushImage(registry, 'skiff-demo:v1', `reg-lab-${process.pid}/app:v1`);
    skiff = await SkiffCluster.startServerOnly(Lab.gateway);
    await lab.startAgents(skiff.url, skiff.joinToken);
  });
  after(async () => {
    if (process.exitCode) console.error(skiff?.output.slice(-40).join('\n'));
    await skiff?.stop();
    await registry?.stop();
    await lab?.down();
    if (pushed) for (const reference of [pushed.reference, pushed.pinned]) await removeLocalImage(reference);
  });

  test('with the credential, the deploy pins the digest and the lab host pulls and runs it', async () => {
    const engine = new Docker({ socketPath: lab.socketPath(1) });
    await assert.rejects(engine.getImage(pushed.pinned).inspect(), 'the lab engine does not have it yet');
    const login = await skiff.cli(
      ['registry', 'login', registry.host, '--username', registry.username, '--password-stdin'],
      { input: registry.password },
    );
    assert.equal(login.code, 0, login.stderr);
    const deployed = await skiff.api('POST', '/api/deploy', { name: 'reg-lab', image: pushed.reference });
    assert.equal(deployed.status, 201, JSON.stringify(deployed.body));
    const pinnedImage = `${pushed.reference}@${pushed.digest}`;
    assert.equal(serviceViewSchema.parse(deployed.body).image, pinnedImage);
    const replica = await eventually(
      'the replica running on the lab host',
      async () => {
        const view = serviceViewSchema.parse((await skiff.api('GET', '/api/services/reg-lab')).body);
        const first = view.containers[0];
        if (first?.message) throw new Error(first.message);
        return view.running === 1 && first?.node_id === lab.nodeName(1) && first.id ? first : undefined;
      },
      { timeoutMs: 120_000 },
    );
    const image = await engine.getImage(pushed.pinned).inspect();
    assert.ok(image.RepoDigests.includes(pushed.pinned), JSON.stringify(image.RepoDigests));
    const container = await engine.getContainer(replica.id ?? '').inspect();
    assert.equal(container.Config.Image, pinnedImage);
  });
});
