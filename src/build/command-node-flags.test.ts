import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type CommandFlagsFacts, commandFlagsRestart } from './command-node-flags.ts';

const facts: CommandFlagsFacts = {
  common: ['--s=8', '--g=50'],
  own: { agent: ['--s=1', '--max-opt=1'] },
  args: ['agent', '--server', 'https://a:8443'],
  execArgv: ['--s=8', '--g=50'],
  restarted: false,
  canExecve: true,
};

test("command flags: the agent restarts with its own options; other commands don't", () => {
  assert.equal(commandFlagsRestart(facts), '--node-options=--s=1 --max-opt=1');
  assert.equal(commandFlagsRestart({ ...facts, args: ['server'] }), undefined);
  assert.equal(commandFlagsRestart({ ...facts, args: [] }), undefined);
  // Not an own property of the table (the command line is the user's).
  assert.equal(commandFlagsRestart({ ...facts, args: ['constructor'] }), undefined);
  assert.equal(commandFlagsRestart({ ...facts, own: {} }), undefined);
});

test('command flags: once only, and not without execve', () => {
  assert.equal(commandFlagsRestart({ ...facts, restarted: true }), undefined);
  assert.equal(commandFlagsRestart({ ...facts, canExecve: false }), undefined);
  // Given by hand, last: nothing to add.
  assert.equal(
    commandFlagsRestart({ ...facts, execArgv: ['--s=8', '--g=50', '--s=1', '--max-opt=1'] }),
    undefined,
  );
});

test("command flags: an operator's --node-options are kept, after the command's, quoted", () => {
  const execArgv = ['--s=8', '--g=50', '--max-old-space-size=200', '--title=a "b"'];
  assert.equal(
    commandFlagsRestart({ ...facts, execArgv }),
    '--node-options=--s=1 --max-opt=1 --max-old-space-size=200 "--title=a \\"b\\""',
  );
});
