import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseArgs } from 'node:util';
import { COMMAND_OPTIONS } from './command-options.ts';
import { ConfigFileError, configFileArgs, withConfigFile } from './config-file.ts';

const agent = COMMAND_OPTIONS.agent;

test('settings become flags; lists and mappings join as the flags take them', async () => {
  const text = 'server: https://s:8080\nconcurrency: 4\nlabels: {zone: eu-1, rack: 2}\ncleanup: false\n';
  assert.deepEqual(await configFileArgs(text, 'agent.yaml', agent), [
    '--server=https://s:8080',
    '--concurrency=4',
    '--labels=zone=eu-1,rack=2',
  ]);
  assert.deepEqual(await configFileArgs('san: [a.example, 10.0.0.1]\n', 's.yaml', COMMAND_OPTIONS.server), [
    '--san=a.example,10.0.0.1',
  ]);
  assert.deepEqual(await configFileArgs('# nothing yet\n', 'agent.yaml', agent), []);
});

test('flags on the command line win over the file', async () => {
  const files = { '/etc/skiff/agent.yaml': 'server: https://from-file:8080\nconcurrency: 4\n' };
  const argv = await withConfigFile(
    ['--concurrency', '16'],
    '/etc/skiff/agent.yaml',
    agent,
    (p) => files[p as keyof typeof files],
  );
  const { values } = parseArgs({ args: argv, options: agent });
  assert.equal(values.server, 'https://from-file:8080');
  assert.equal(values.concurrency, '16');
});

test('--config names the file (and must exist); without it the default is read only if it exists', async () => {
  const read = (path: string) => (path === '/x.yaml' ? 'name: n1\n' : undefined);
  assert.deepEqual(
    await withConfigFile(['--config', '/x.yaml', '--cpus', '2'], '/etc/none.yaml', agent, read),
    ['--name=n1', '--cpus', '2'],
  );
  assert.deepEqual(await withConfigFile(['--config=/x.yaml'], undefined, agent, read), ['--name=n1']);
  assert.deepEqual(await withConfigFile(['--cpus', '2'], '/etc/none.yaml', agent, read), ['--cpus', '2']);
  await assert.rejects(
    () => withConfigFile(['--config', '/missing.yaml'], undefined, agent, read),
    /--config \/missing.yaml: no such file/,
  );
});

test('unknown settings, wrong types and non-mappings are errors naming the file and key', async () => {
  await assert.rejects(
    () => configFileArgs('sever: x\n', 'agent.yaml', agent),
    /agent.yaml: unknown setting "sever"/,
  );
  await assert.rejects(() => configFileArgs('help: true\n', 'agent.yaml', agent), /unknown setting "help"/);
  await assert.rejects(
    () => configFileArgs('cleanup: yes please\n', 'a.yaml', agent),
    /cleanup: expected true or false/,
  );
  await assert.rejects(
    () => configFileArgs('labels: {a: {b: c}}\n', 'a.yaml', agent),
    /labels: expected a string/,
  );
  await assert.rejects(() => configFileArgs('- a\n- b\n', 'a.yaml', agent), /expected a mapping/);
  await assert.rejects(() => configFileArgs('a: [\n', 'a.yaml', agent), ConfigFileError);
});
