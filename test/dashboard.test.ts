/**
 * The dashboard end to end, in Debian's Chromium (playwright-core, never a downloaded browser)
 * against a real `skiff up` with real containers: sign in with a token, see services, deploy from
 * the form and watch the replicas appear, scale and see the new running count, kill a container
 * from the test and see the replica restart, read a line the replica printed in its logs, sign
 * out; a viewer's session offers no actions and the API refuses them anyway; a page whose
 * WebSocket cannot open polls instead and says so; a Compose stack deployed from the form shows
 * the API's refusal at the line it names, then runs; nodes show the host's own usage. Nothing is
 * reloaded: each page carries a marker set at its start, checked at the end.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { after, before, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import type { TestBrowser } from './support/chromium.ts';
import { startChromium } from './support/chromium.ts';
import { docker } from './support/docker.ts';
import { eventually } from './support/eventually.ts';
import { SkiffCluster } from './support/skiff-cluster.ts';

const ROOT = resolve(import.meta.dirname, '..');

let skiff: SkiffCluster;
let chromium: TestBrowser;

before(async () => {
  // The server serves web/dist; build it from this checkout so the test sees the code under test.
  const built = spawnSync(
    process.execPath,
    [resolve(ROOT, 'node_modules/vite/bin/vite.js'), 'build', 'web', '--logLevel', 'warn'],
    {
      cwd: ROOT,
      encoding: 'utf8',
    },
  );
  assert.equal(built.status, 0, `web build failed: ${built.stderr}`);
  // Stats every second, so usage bars and charts fill within the test's patience.
  skiff = await SkiffCluster.start('up', { serverArgs: ['--stats-interval', '1s'] });
  chromium = await startChromium();
});

after(async () => {
  await chromium?.close();
  await skiff?.stop();
});

/** A fresh browser profile (its own cookies) on the dashboard, with a reload marker. */
async function openDashboard(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await chromium.browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  page.on('dialog', (dialog) => void dialog.accept());
  await page.goto(`${skiff.url}/`);
  await page.evaluate('window.__loadedOnce = true');
  return { context, page };
}

async function signIn(page: Page, token: string): Promise<void> {
  await page.locator('#token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('[data-testid="who"]').waitFor();
}

async function notReloaded(page: Page): Promise<void> {
  assert.equal(await page.evaluate('window.__loadedOnce === true'), true, 'the page was reloaded');
}

const ACTIONS = ['Scale', 'Roll back', 'Remove', 'Cordon', 'Uncordon', 'Drain', 'Deploy'];

async function assertNoActions(page: Page, where: string): Promise<void> {
  for (const name of ACTIONS) {
    assert.equal(
      await page.getByRole('button', { name }).count(),
      0,
      `a viewer is offered ${name} on ${where}`,
    );
  }
}

async function textOf(page: Page, selector: string): Promise<string> {
  return (await page.locator(selector).first().textContent({ timeout: 1000 })) ?? '';
}

test('an admin signs in, deploys, scales, sees a restart and logs, and signs out, all live', {
  timeout: 150_000,
}, async () => {
  const pre = await skiff.api('POST', '/api/deploy', {
    name: 'e2e-pre',
    image: 'skiff-demo:v1',
    replicas: 1,
  });
  assert.equal(pre.status, 201, JSON.stringify(pre.body));
  const { context, page } = await openDashboard();
  try {
    await signIn(page, skiff.token);
    // The token went into a cookie the page cannot read, and nowhere in the page's storage.
    assert.equal(await page.evaluate('document.cookie'), '');
    assert.equal(await page.evaluate('localStorage.length + sessionStorage.length'), 0);
    await eventually('the stream live', async () => (await textOf(page, '.connection')) === 'live');
    await eventually('the existing service listed', async () =>
      (await textOf(page, '[data-service="e2e-pre"]')).includes('e2e-pre'),
    );

    // A refused deploy shows the API's message at the field it names.
    await page.getByRole('link', { name: 'Deploy', exact: true }).click();
    await page.locator('#deploy-name').fill('e2e-web');
    await page.locator('#deploy-image').fill('skiff-demo:v1');
    await page.locator('#deploy-memoryMb').fill('1');
    await page.getByRole('button', { name: 'Deploy', exact: true }).click();
    const memoryError = await eventually('the memory field error', async () => {
      const text = await textOf(page, '#deploy-memoryMb-error');
      return text !== '' ? text : undefined;
    });
    assert.match(memoryError, /6/, 'the error is the API’s minimum for memory_mb');

    // Deployed from the form: the page moves to the service, whose replicas appear by themselves.
    await page.locator('#deploy-memoryMb').fill('64');
    await page.locator('#deploy-replicas').fill('2');
    await page.locator('#deploy-containerPort').fill('8080');
    await page.getByRole('button', { name: 'Deploy', exact: true }).click();
    await page.waitForURL(/#\/services\/e2e-web/);
    await eventually(
      '2/2 running in the page',
      async () => (await textOf(page, '[data-testid="service-running"]')).startsWith('2/2'),
      { timeoutMs: 60_000 },
    );
    assert.equal(await page.locator('[data-replica="e2e-web-1"]').count(), 1);

    // Scaled from the page.
    await page.getByLabel('Desired replicas').fill('3');
    await page.getByRole('button', { name: 'Scale' }).click();
    await eventually(
      '3/3 running in the page',
      async () => (await textOf(page, '[data-testid="service-running"]')).startsWith('3/3'),
      { timeoutMs: 60_000 },
    );

    // A container killed behind Skiff's back: the page shows the replica restarted.
    const victim = (await skiff.containers('e2e-web')).find((c) => c.slot === 0 && c.state === 'running');
    assert.ok(victim, 'a running container for e2e-web-0');
    await docker.getContainer(victim.id).kill();
    await eventually(
      'e2e-web-0 restarted in the page',
      async () => (await textOf(page, '[data-replica="e2e-web-0"] [data-testid="replica-restarts"]')) === '1',
      { timeoutMs: 30_000 },
    );
    await eventually(
      '3/3 running again',
      async () => (await textOf(page, '[data-testid="service-running"]')).startsWith('3/3'),
      { timeoutMs: 30_000 },
    );

    // Logs: a line the replica printed, through the follow stream.
    await page.getByRole('link', { name: 'logs', exact: true }).click();
    await eventually(
      'the replica’s start line in the logs',
      async () => (await textOf(page, '.log-lines')).includes('demo v1 starting as e2e-web-2'),
      { timeoutMs: 30_000 },
    );
    await page.getByLabel('Search logs').fill('starting as e2e-web-1');
    await eventually('the search narrows the lines', async () => {
      const text = await textOf(page, '.log-lines');
      return text.includes('e2e-web-1') && !text.includes('starting as e2e-web-2');
    });

    // The agents' resource samples reach the list as sparklines (a chart per series, once stats exist).
    await page.getByRole('link', { name: 'Services', exact: true }).click();
    await eventually(
      'CPU and memory sparklines for e2e-web',
      async () => (await page.locator('[data-service="e2e-web"] .sparkline canvas').count()) === 2,
      { timeoutMs: 30_000 },
    );

    await notReloaded(page);

    // Signed out: the sign-in form again, and the cookie no longer opens the API.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('#token').waitFor();
    const status = await page.evaluate(async () => (await fetch('/api/services')).status);
    assert.equal(status, 401);
  } finally {
    await context.close();
  }
});

test('a Compose stack from the deploy view: a refusal at its line, then its replicas live; node usage bars', {
  timeout: 90_000,
}, async () => {
  const { context, page } = await openDashboard();
  try {
    await signIn(page, skiff.token);
    await page.goto(`${skiff.url}/#/deploy?mode=compose`);
    await page.locator('#compose-stack').fill('e2e-stack');
    const file = (extra: string[]) =>
      [
        'services:',
        '  web:',
        '    image: skiff-demo:v1',
        ...extra,
        '    deploy:',
        '      replicas: 2',
        '',
      ].join('\n');
    await page.locator('#compose-file').fill(file(['    colour: blue']));
    await page.getByRole('button', { name: 'Deploy stack' }).click();
    // The API's `compose.yml:4: services.web.colour: …` is shown at line 4, in the gutter and below.
    await eventually(
      'the error at line 4',
      async () => (await page.locator('[data-error-line="4"]').count()) === 1,
    );
    assert.match(
      await textOf(page, '.line-errors [data-line="4"]'),
      /services\.web\.colour: not a Compose service key/,
    );
    assert.equal(await page.locator('[data-error-line]').count(), 1, 'no other line marked');
    // Its link puts the cursor on that line.
    await page.locator('.line-errors [data-line="4"] button').click();
    const selected = await page.evaluate(
      "(() => { const a = document.querySelector('#compose-file'); return a.value.slice(a.selectionStart, a.selectionEnd); })()",
    );
    assert.equal(selected, '    colour: blue');
    assert.equal((await skiff.api('GET', '/api/services/e2e-stack-web')).status, 404, 'nothing deployed');

    await page.locator('#compose-file').fill(file([]));
    await page.getByRole('button', { name: 'Deploy stack' }).click();
    await eventually('the stack deployed', async () =>
      (await textOf(page, '[data-testid="stack-result"]')).includes('created: e2e-stack-web'),
    );
    assert.equal(await page.locator('[data-error-line]').count(), 0);
    await page.getByRole('link', { name: 'Its services' }).click();
    await eventually(
      'the stack’s replicas running in the list',
      async () => (await textOf(page, '[data-service="e2e-stack-web"] [data-testid="running"]')) === '2/2',
      { timeoutMs: 60_000 },
    );

    // The node's own usage (its agent's measure of the host), beside what is reserved.
    await page.getByRole('link', { name: 'Nodes', exact: true }).click();
    await eventually(
      'host usage bars for CPU and memory',
      async () => (await page.locator('[data-testid="host-bar"]').count()) === 2,
      { timeoutMs: 30_000 },
    );
    assert.match(await textOf(page, '[data-usage="memory"] .usage-label'), /reserved of .*, host uses \d/);
    await eventually(
      'the host charts',
      async () => (await page.locator('[data-testid="node-charts"] canvas').count()) >= 2,
      {
        timeoutMs: 30_000,
      },
    );
    const width = await page.locator('[data-testid="host-bar"]').first().getAttribute('style');
    assert.match(width ?? '', /width: \d+(\.\d+)?%/);
    await notReloaded(page);
  } finally {
    await context.close();
    await skiff.api('DELETE', '/api/stacks/e2e-stack');
  }
});

test('a viewer sees no action buttons, and the API refuses the actions anyway', {
  timeout: 60_000,
}, async () => {
  const created = await skiff.api('POST', '/api/tokens', { name: 'e2e-viewer', role: 'viewer' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const viewerToken = (created.body as { token: string }).token;
  const { context, page } = await openDashboard();
  try {
    await signIn(page, viewerToken);
    assert.match(await textOf(page, '[data-testid="who"]'), /e2e-viewer \(viewer\)/);
    await page.goto(`${skiff.url}/#/services/e2e-pre`);
    await eventually('the service page', async () => (await textOf(page, '#service-title')) === 'e2e-pre');
    await eventually(
      'its replica',
      async () => (await page.locator('[data-replica="e2e-pre-0"]').count()) === 1,
    );
    await assertNoActions(page, 'the service page');
    await page.goto(`${skiff.url}/#/services/e2e-pre?tab=rollout`);
    await eventually('the rollout history', async () => (await page.locator('.revisions .row').count()) > 1);
    await assertNoActions(page, 'the rollout tab');
    await page.goto(`${skiff.url}/#/nodes`);
    await eventually('a node listed', async () => (await page.locator('[data-node]').count()) > 0);
    await assertNoActions(page, 'the nodes page');
    assert.equal(await page.getByRole('link', { name: 'Tokens' }).count(), 0);
    // Secrets (names, never values) and the policy are read-only views a viewer may open.
    await page.getByRole('link', { name: 'Secrets', exact: true }).click();
    await eventually(
      'the secrets view',
      async () => (await textOf(page, '#secrets-title')) === 'Secrets and configs',
    );
    await page.getByRole('link', { name: 'Policy', exact: true }).click();
    await eventually(
      'the policy view',
      async () => (await textOf(page, '#policy-title')) === 'Admission policy',
    );
    await eventually('the policy mode', async () => /Mode: \w+/.test(await textOf(page, 'main')));
    assert.equal(await page.getByRole('link', { name: 'Deploy', exact: true }).count(), 0);

    // The same requests the buttons would make, with the session and its CSRF token: refused.
    const statuses = await page.evaluate(async () => {
      const session = (await (await fetch('/api/session')).json()) as { csrf_token: string };
      const headers = { 'content-type': 'application/json', 'x-csrf-token': session.csrf_token };
      const scale = await fetch('/api/services/e2e-pre/scale', {
        method: 'POST',
        headers,
        body: '{"replicas":2}',
      });
      const remove = await fetch('/api/services/e2e-pre', { method: 'DELETE', headers });
      const nodes = (await (await fetch('/api/nodes')).json()) as { id: string }[];
      const cordon = await fetch(`/api/nodes/${nodes[0]?.id}/cordon`, { method: 'POST', headers });
      return [scale.status, remove.status, cordon.status];
    });
    assert.deepEqual(statuses, [403, 403, 403]);
    const still = await skiff.api('GET', '/api/services/e2e-pre');
    assert.equal((still.body as { replicas: number }).replicas, 1);
  } finally {
    await context.close();
  }
});

test('a page whose WebSocket cannot open polls instead, says so, and still updates', {
  timeout: 60_000,
}, async () => {
  const context = await chromium.browser.newContext();
  // What a proxy that refuses upgrades looks like to the page: every socket closes unopened.
  await context.addInitScript(`window.WebSocket = class BlockedSocket {
    static OPEN = 1;
    constructor() { this.readyState = 3; setTimeout(() => this.onclose && this.onclose({ code: 1006, reason: '' }), 5); }
    send() {}
    close() {}
  };`);
  const page = await context.newPage();
  try {
    await page.goto(`${skiff.url}/`);
    await signIn(page, skiff.token);
    await eventually(
      'the polling notice',
      async () => (await textOf(page, '.connection')).includes('polling'),
      {
        timeoutMs: 15_000,
      },
    );
    await eventually(
      'services listed by polling',
      async () => (await page.locator('[data-service="e2e-pre"]').count()) === 1,
    );
    const scaled = await skiff.api('POST', '/api/services/e2e-pre/scale', { replicas: 2 });
    assert.equal(scaled.status, 200);
    await eventually(
      'the scale seen by polling',
      async () => (await textOf(page, '[data-service="e2e-pre"] [data-testid="running"]')) === '2/2',
      { timeoutMs: 30_000 },
    );
  } finally {
    await context.close();
  }
});

test('when the server goes away the page says it is reconnecting, then resynchronises by itself', {
  timeout: 90_000,
}, async () => {
  const { context, page } = await openDashboard();
  try {
    await signIn(page, skiff.token);
    await eventually('the stream live', async () => (await textOf(page, '.connection')) === 'live');
    await skiff.kill('server');
    await eventually(
      'the reconnecting notice',
      async () => (await textOf(page, '.connection')).includes('reconnecting'),
      {
        timeoutMs: 15_000,
      },
    );
    await skiff.startServer();
    await skiff.waitForNode();
    // 'live' is shown only once a fresh snapshot has been applied; changes then flow again.
    const scaled = await skiff.api('POST', '/api/services/e2e-pre/scale', { replicas: 1 });
    assert.equal(scaled.status, 200, JSON.stringify(scaled.body));
    await eventually('live again', async () => (await textOf(page, '.connection')) === 'live', {
      timeoutMs: 45_000,
    });
    await eventually(
      'the change made meanwhile',
      async () => (await textOf(page, '[data-service="e2e-pre"] [data-testid="running"]')) === '1/1',
      { timeoutMs: 30_000 },
    );
    await notReloaded(page);
  } finally {
    await context.close();
  }
});
