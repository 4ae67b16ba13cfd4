import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import type { NodeView } from '../model/views.ts';
import { UsageError } from './errors.ts';
import { stdoutWantsColour } from './output.ts';
import { outputFormatFrom, prepareOutput, renderStreamItem, renderView, type View } from './output-format.ts';
import { nodeListView, serviceDetailView, serviceListView } from './output-format-views.ts';
import { replica, serviceView } from './service-view-fixture.ts';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const services = [
  serviceView({
    name: 'web',
    containers: [replica({ slot: 0 }), replica({ slot: 1, message: 'a: "quoted"\nline' })],
  }),
  serviceView({ name: 'api', replicas: 0, containers: [], env: { EMPTY: '', YES: 'yes', NUM: '012' } }),
];
const node: NodeView = {
  id: 'n1',
  name: 'host-1',
  status: 'ready',
  availability: 'active',
  address: '10.0.0.1',
  labels: { zone: 'eu-1' },
  engine_version: '20.10.24',
  cpu_millicores: 2000,
  memory_bytes: 2 ** 31,
  allocated_cpu_millicores: 0,
  allocated_memory_bytes: 0,
  containers: 0,
  joined_at: '2026-12-01T11:00:00Z',
  last_heartbeat: null,
  message: null,
};
const views: Record<string, View> = {
  ps: serviceListView(services),
  'ps NAME': serviceDetailView(services[0] ?? serviceView(), NOW),
  nodes: nodeListView([node], NOW),
};

for (const [name, view] of Object.entries(views)) {
  test(`${name}: -o yaml parsed back equals -o json`, async () => {
    await prepareOutput('yaml');
    assert.deepEqual(parse(renderView('yaml', view)), JSON.parse(renderView('json', view)));
  });
}

test('-o name and -q print one name a line; wide adds columns to the table', () => {
  assert.equal(renderView('name', views.ps as View), 'api\nweb\n');
  assert.equal(
    renderView('name', views['ps NAME'] as View),
    `${services[0]?.containers.map((c) => c.name).join('\n')}\n`,
  );
  const table = renderView('table', views.ps as View).split('\n')[0] ?? '';
  const wide = renderView('wide', views.ps as View).split('\n')[0] ?? '';
  assert.match(table, /^NAME +STATUS +REPLICAS +HEALTH$/);
  assert.match(wide, /^NAME +STATUS +REPLICAS +HEALTH +IMAGE +REVISION +PORTS +MESSAGE$/);
  assert.match(renderView('wide', views.nodes as View), /ENGINE[\s\S]*20\.10\.24/);
});

test('a view without names refuses -o name, saying which formats it has', () => {
  assert.throws(() => renderView('name', { data: [], table: () => [] }), UsageError);
});

test('the flags pick one format; --json is -o json, -q is -o name; contradictions are usage errors', () => {
  assert.equal(outputFormatFrom({}), 'table');
  assert.equal(outputFormatFrom({ json: true }), 'json');
  assert.equal(outputFormatFrom({ quiet: true }), 'name');
  assert.equal(outputFormatFrom({ output: 'json', json: true }), 'json');
  assert.throws(
    () => outputFormatFrom({ output: 'xml' }),
    /expected one of table\|wide\|json\|yaml\|name, got "xml"/,
  );
  assert.throws(
    () => outputFormatFrom({ output: 'yaml', json: true }),
    /conflicting output flags: -o yaml, --json/,
  );
  assert.throws(() => outputFormatFrom({ json: true, quiet: true }), UsageError);
});

test('a followed stream prints compact JSON lines, YAML documents, or its lines', async () => {
  await prepareOutput('yaml');
  const event = { type: 'service', message: 'x' };
  assert.equal(
    renderStreamItem('json', event, () => 'line'),
    '{"type":"service","message":"x"}\n',
  );
  assert.equal(
    renderStreamItem('yaml', event, () => 'line'),
    '---\ntype: service\nmessage: x\n',
  );
  assert.equal(
    renderStreamItem('table', event, () => 'line'),
    'line\n',
  );
  assert.throws(() => renderStreamItem('name', event, () => 'line'), UsageError);
});

const ESC = String.fromCharCode(27);
const hasEscape = (text: string) => text.includes(ESC);
const plain = (text: string) =>
  text
    .split(`${ESC}[`)
    .map((part, i) => (i === 0 ? part : part.replace(/^\d+m/, '')))
    .join('');

test('colour only when asked (a terminal without NO_COLOR): status words, never the header or JSON', async () => {
  const view = views.ps as View;
  assert.equal(hasEscape(renderView('table', view)), false);
  const coloured = renderView('table', view, { colour: true });
  assert.ok(coloured.includes(`${ESC}[32mrunning${ESC}[0m`), coloured);
  assert.equal(hasEscape(coloured.split('\n')[0] ?? ''), false);
  assert.equal(hasEscape(renderView('json', view, { colour: true })), false);
  assert.equal(plain(coloured), renderView('table', view), 'the same text, aligned the same');
});

test('stdout wants colour only at a terminal, and never with NO_COLOR', () => {
  const { isTTY } = process.stdout;
  const noColour = process.env.NO_COLOR;
  try {
    Object.defineProperty(process.stdout, 'isTTY', { value: true, configurable: true });
    delete process.env.NO_COLOR;
    assert.equal(stdoutWantsColour(), true);
    process.env.NO_COLOR = '1';
    assert.equal(stdoutWantsColour(), false);
    Object.defineProperty(process.stdout, 'isTTY', { value: false, configurable: true });
    delete process.env.NO_COLOR;
    assert.equal(stdoutWantsColour(), false);
  } finally {
    Object.defineProperty(process.stdout, 'isTTY', { value: isTTY, configurable: true });
    if (noColour === undefined) delete process.env.NO_COLOR;
    else process.env.NO_COLOR = noColour;
  }
});
