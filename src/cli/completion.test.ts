import assert from 'node:assert/strict';
import { test } from 'node:test';
import { COMMAND_OPTIONS } from './command-options.ts';
import { actionsOf, complete, type NameKind } from './completion.ts';
import { connectionFlagsIn } from './completion-command.ts';
import { completionScript } from './completion-scripts.ts';
import { COMMANDS } from './usage.ts';

const asked: NameKind[] = [];
const names = async (kind: NameKind) => {
  asked.push(kind);
  return kind === 'services'
    ? ['web', 'api', 'worker']
    : kind === 'volumes'
      ? ['data-0', 'data-1']
      : ['node-1', 'node-2'];
};

test('commands, then each command’s flags from the command table', async () => {
  assert.deepEqual(await complete(['sc'], names), ['scale']);
  assert.ok((await complete([''], names)).includes('help'));
  const flags = await complete(['logs', '--'], names);
  for (const flag of Object.keys(COMMAND_OPTIONS.logs)) assert.ok(flags.includes(`--${flag}`), flag);
  assert.deepEqual(await complete(['logs', '-f'], names), ['-f']);
});

test('service and node names from the server where a command takes them', async () => {
  assert.deepEqual(await complete(['logs', 'w'], names), ['web', 'worker']);
  assert.deepEqual(await complete(['logs', '--tail', '5', ''], names), ['api', 'web', 'worker']);
  assert.deepEqual(await complete(['rollout', ''], names), ['status', 'history', 'undo']);
  assert.deepEqual(await complete(['rollout', 'undo', 'a'], names), ['api']);
  assert.deepEqual(await complete(['node', 'drain', ''], names), ['node-1', 'node-2']);
  assert.deepEqual(await complete(['volume', 'move', 'data-'], names), ['data-0', 'data-1']);
  assert.deepEqual(await complete(['volume', 'move', 'data-0', '--to', ''], names), ['node-1', 'node-2']);
  assert.deepEqual(await complete(['events', '--service', ''], names), ['api', 'web', 'worker']);
  assert.deepEqual(await complete(['ps', '-o', 'y'], names), ['yaml']);
  assert.deepEqual(await complete(['logs', 'web', ''], names), [], 'one service only');
});

test('the server is asked only when names are needed', async () => {
  asked.length = 0;
  await complete(['deploy', '--'], names);
  await complete(['completion', ''], names);
  assert.deepEqual(asked, []);
});

test('every command with actions in its help offers them', () => {
  assert.deepEqual(actionsOf('token'), ['create', 'ls', 'rm', 'rotate']);
  for (const name of Object.keys(COMMANDS) as (keyof typeof COMMANDS)[]) {
    const help = COMMANDS[name] as { actions?: string };
    if (help.actions) assert.ok(actionsOf(name).length > 0, name);
  }
});

test('the connection flags typed so far reach the name lookup', () => {
  assert.deepEqual(connectionFlagsIn(['ps', '--server', 'https://s:8080', '--token=t', 'we']), {
    server: 'https://s:8080',
    token: 't',
  });
});

test('each shell script calls __complete with the words typed', () => {
  assert.match(completionScript('bash'), /__complete "\$\{COMP_WORDS\[@\]:1:COMP_CWORD\}"/);
  assert.match(completionScript('zsh'), /^#compdef skiff/);
  assert.match(completionScript('fish'), /complete -c skiff -f -a '\(__skiff_complete\)'/);
});
