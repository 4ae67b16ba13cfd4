/**
 * The shipped dashboard, Prometheus config and alert rules, checked without Grafana: every
 * panel's PromQL parses (lezer-promql, the grammar of Prometheus' own UI) once its variables are
 * replaced, every query uses the datasource variable and names Skiff's metrics, promtool
 * accepts the config and the rules, and the rules' own unit tests (prometheus/skiff-rules.test.yml) pass. test/prometheus.test.ts runs each query against a real
 * Prometheus scraping a real Skiff.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { parser } from '@prometheus-io/lezer-promql';
import { dashboardSchema, panelQueries, substitute, withMatcher } from './dashboard-queries.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const dashboard = dashboardSchema.parse(
  JSON.parse(readFileSync(join(ROOT, 'dashboards/skiff.json'), 'utf8')),
);
const VALUES = { rateInterval: '4s', range: '5m', variables: { service: '.*', node: '.*' } };

/** The text of every error node in the parse of `expr`. */
function parseErrors(expr: string): string[] {
  const errors: string[] = [];
  const cursor = parser.parse(expr).cursor();
  do {
    if (cursor.type.isError) errors.push(`at ${cursor.from}: "${expr.slice(cursor.from, cursor.to + 10)}"`);
  } while (cursor.next());
  return errors;
}

test('the parser finds errors, so a clean parse means something', () => {
  assert.deepEqual(parseErrors('sum by (le) (rate(x[5m]))'), []);
  assert.notDeepEqual(parseErrors('sum by (le (rate(x[5m]))'), []);
  assert.notDeepEqual(parseErrors('rate(x[$__rate_interval])'), [], 'variables must be replaced first');
});

test('every panel query parses as PromQL once its variables are replaced', () => {
  const queries = panelQueries(dashboard);
  assert.ok(queries.length >= 30, `only ${queries.length} queries`);
  for (const query of queries) {
    const expr = substitute(query.expr, VALUES);
    assert.doesNotMatch(expr, /\$/, `${query.panel}: a variable is left in ${expr}`);
    assert.deepEqual(parseErrors(expr), [], `${query.panel} ${query.refId}: ${expr}`);
    assert.match(expr, /skiff_/, `${query.panel}: names no Skiff metric`);
  }
});

test('a matcher added to every selector confines a query to one target', () => {
  assert.equal(withMatcher('up', 'run', 'a'), 'up{run="a"}');
  assert.equal(
    withMatcher('max(foo{}) / bar offset 5m', 'run', 'a'),
    'max(foo{run="a"}) / bar{run="a"} offset 5m',
  );
  assert.equal(
    withMatcher('sum by (le) (rate(x_bucket{service=~".*"}[4s]))', 'run', 'a'),
    'sum by (le) (rate(x_bucket{run="a",service=~".*"}[4s]))',
  );
  for (const query of panelQueries(dashboard)) {
    const expr = withMatcher(substitute(query.expr, VALUES), 'run', 'a');
    assert.deepEqual(parseErrors(expr), [], expr);
  }
});

test('it imports into Grafana 10+: a datasource variable every panel uses, the query variables it needs', () => {
  assert.ok(dashboard.schemaVersion >= 38);
  const variables = new Map(dashboard.templating.list.map((v) => [v.name, v]));
  assert.equal(variables.get('datasource')?.type, 'datasource');
  assert.equal(variables.get('datasource')?.query, 'prometheus');
  for (const name of ['service', 'node']) assert.equal(variables.get(name)?.type, 'query', name);
  const ids = new Set<number>();
  for (const panel of dashboard.panels) {
    assert.ok(!ids.has(panel.id), `panel id ${panel.id} twice`);
    ids.add(panel.id);
    if (panel.type === 'row') continue;
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's own variable syntax
    assert.deepEqual(panel.datasource, { type: 'prometheus', uid: '${datasource}' }, panel.title);
  }
  // The views are all there.
  const titles = dashboard.panels.map((p) => p.title).join('\n');
  for (const wanted of [
    /Services by status/,
    /desired vs running/,
    /Nodes up/,
    /Deploy success rate/,
    /CPU per replica/,
    /Memory working set/,
    /Restarts/,
    /capacity vs allocated/,
    /Scheduling latency/,
    /API latency/,
    /Rollouts/,
  ])
    assert.match(titles, wanted);
});

test('promtool accepts the Prometheus config and the alert rules', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-prometheus-config-'));
  try {
    // The config names the CA and the token relative to itself; promtool checks they exist.
    for (const file of ['prometheus.yml', 'skiff-rules.yml'])
      copyFileSync(join(ROOT, 'prometheus', file), join(dir, file));
    writeFileSync(join(dir, 'skiff-ca.crt'), '');
    writeFileSync(join(dir, 'skiff.token'), 'skiff_tok_x\n');
    const rules = spawnSync('promtool', ['check', 'rules', join(dir, 'skiff-rules.yml')], {
      encoding: 'utf8',
    });
    assert.equal(rules.error, undefined, 'promtool missing (apt-get install prometheus)');
    assert.equal(rules.status, 0, rules.stdout + rules.stderr);
    for (const alert of [
      'SkiffServiceDegraded',
      'SkiffReplicaCrashLooping',
      'SkiffNodeDown',
      'SkiffRolloutRolledBack',
    ])
      assert.match(readFileSync(join(dir, 'skiff-rules.yml'), 'utf8'), new RegExp(`alert: ${alert}\\b`));
    const config = spawnSync('promtool', ['check', 'config', join(dir, 'prometheus.yml')], {
      encoding: 'utf8',
    });
    assert.equal(config.status, 0, config.stdout + config.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('each alert fires on the series that should fire it, and only then (promtool test rules)', () => {
  const run = spawnSync('promtool', ['test', 'rules', 'skiff-rules.test.yml'], {
    cwd: join(ROOT, 'prometheus'),
    encoding: 'utf8',
  });
  assert.equal(run.error, undefined, 'promtool missing (apt-get install prometheus)');
  assert.equal(run.status, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /SUCCESS/);
});
