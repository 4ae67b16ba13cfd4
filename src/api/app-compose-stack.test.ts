/* biome-ignore-all lint/suspicious/noTemplateCurlyInString: the files hold Compose's own ${VAR} syntax */
/**
 * A Compose file deployed through the API (`POST /api/stacks/{name}/compose`, the dashboard's
 * form): translated by the server, deployed whole or not at all, and every refusal placed at the
 * file's line of what it names, whether the translator or a spec check refused it; the server
 * reads no files and no environment of its own.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { composeDeployViewSchema } from '../model/stack.ts';
import type { Fixture } from './test-fixture.ts';
import { createFixture, field } from './test-fixture.ts';

const details = (body: unknown) => (field(body, 'details') as string[] | undefined) ?? [];

describe('stacks from a Compose file', () => {
  let f: Fixture;
  before(() => {
    f = createFixture();
  });
  after(() => f.close());

  test('deployed whole, with its inline config, ignored keys as warnings with their lines', async () => {
    const content = [
      'services:',
      '  web:',
      '    image: skiff-demo:v1',
      '    restart: always',
      '    deploy:',
      '      replicas: 2',
      '    configs: [site]',
      '  api:',
      '    image: skiff-demo:${TAG:-v1}',
      'configs:',
      '  site:',
      '    content: hello',
      '',
    ].join('\n');
    const res = await f.call('POST', '/api/stacks/shop/compose', { content });
    assert.equal(res.status, 200, res.text);
    const view = composeDeployViewSchema.parse(res.body);
    assert.deepEqual(view.created.sort(), ['shop-api', 'shop-web']);
    assert.deepEqual(view.warnings, [
      'compose.yml:4: services.web.restart: ignored, as docker stack deploy ignores it',
    ]);
    assert.equal(f.store.getService('shop-web')?.spec.replicas, 2);
    assert.equal(f.store.getService('shop-web')?.spec.labels['skiff.stack'], 'shop');
    const configs = (await f.call('GET', '/api/configs')).body as { name: string }[];
    assert.ok(configs.some((c) => c.name === 'shop-site'));
  });

  test('a translator error names file, line and key, and deploys nothing', async () => {
    const content = ['services:', '  web:', '    image: skiff-demo:v1', '    colour: blue', ''].join('\n');
    const res = await f.call('POST', '/api/stacks/bad/compose', { file: 'stack.yml', content });
    assert.equal(res.status, 400, res.text);
    assert.deepEqual(details(res.body), ['stack.yml:4: services.web.colour: not a Compose service key']);
    assert.equal(f.store.getService('bad-web'), undefined);
  });

  test('a spec the policy refuses is placed at the line of its service and key', async () => {
    const content = [
      'services:',
      '  ok:',
      '    image: skiff-demo:v1',
      '  admin:',
      '    image: skiff-demo:v1',
      '    cap_add:',
      '      - NET_ADMIN',
      '',
    ].join('\n');
    const res = await f.call('POST', '/api/stacks/caps/compose', { content });
    assert.equal(res.status, 403, res.text);
    const [first] = details(res.body);
    assert.match(first ?? '', /^compose\.yml:6: services\.admin: .*NET_ADMIN/, res.text);
    assert.equal(f.store.getService('caps-ok'), undefined, 'all or nothing');
  });

  test('a value the translator refuses is at its service, as the CLI says it', async () => {
    const content = [
      'services:',
      '  big:',
      '    image: skiff-demo:v1',
      '    deploy:',
      '      resources:',
      '        limits:',
      '          memory: 1k',
      '',
    ].join('\n');
    const res = await f.call('POST', '/api/stacks/mem/compose', { content });
    assert.equal(res.status, 400, res.text);
    assert.match(
      details(res.body)[0] ?? '',
      /^compose\.yml:2: services\.big: resources\.memory_mb: /,
      res.text,
    );
  });

  test('a conflict with another service is placed at the service that has it', async () => {
    assert.equal(
      (
        await f.call('POST', '/api/deploy', {
          name: 'plain',
          image: 'skiff-demo:v1',
          ports: [{ container_port: 80, host_port: 18081 }],
        })
      ).status,
      201,
    );
    const content = [
      'services:',
      '  web:',
      '    image: skiff-demo:v1',
      '    ports:',
      '      - "18081:80"',
      '',
    ].join('\n');
    const res = await f.call('POST', '/api/stacks/clash/compose', { content });
    assert.equal(res.status, 409, res.text);
    assert.match(details(res.body)[0] ?? '', /^compose\.yml:4: services\.web: ports: /, res.text);
  });

  test('the server reads no files and none of its own environment', async () => {
    const secretFile = [
      'services:',
      '  db:',
      '    image: skiff-demo:v1',
      '    secrets: [pw]',
      'secrets:',
      '  pw:',
      '    file: /etc/passwd',
      '',
    ].join('\n');
    const refused = await f.call('POST', '/api/stacks/files/compose', { content: secretFile });
    assert.equal(refused.status, 400, refused.text);
    assert.match(details(refused.body)[0] ?? '', /^compose\.yml:7: secrets\.pw: the server reads no files/);
    const envFile = [
      'services:',
      '  db:',
      '    image: skiff-demo:v1',
      '    env_file: /etc/hostname',
      '',
    ].join('\n');
    const noEnvFile = await f.call('POST', '/api/stacks/files/compose', { content: envFile });
    assert.equal(noEnvFile.status, 400, noEnvFile.text);
    assert.match(details(noEnvFile.body)[0] ?? '', /^compose\.yml:4: /);

    process.env.SKIFF_TEST_COMPOSE_LEAK = 'from-the-server';
    try {
      const content = [
        'services:',
        '  db:',
        '    image: skiff-demo:v1',
        '    environment:',
        '      - LEAK=${SKIFF_TEST_COMPOSE_LEAK:-unset}',
        '      - GIVEN=${GIVEN}',
        '',
      ].join('\n');
      const res = await f.call('POST', '/api/stacks/env/compose', { content, env: { GIVEN: 'yes' } });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(f.store.getService('env-db')?.spec.env, { LEAK: 'unset', GIVEN: 'yes' });
    } finally {
      delete process.env.SKIFF_TEST_COMPOSE_LEAK;
    }
  });
});
