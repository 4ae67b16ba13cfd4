import assert from 'node:assert/strict';
import { test } from 'node:test';
import { splitExecArgs } from './exec-command.ts';

test('options end at the target; what follows is the command, its own flags included', () => {
  assert.deepEqual(splitExecArgs(['-it', '--user', '1000', 'api-server-2', 'ls', '-la', '/']), {
    own: ['-it', '--user', '1000'],
    target: 'api-server-2',
    command: ['ls', '-la', '/'],
  });
});

test('a -- after the target, or before it, is a separator, not an argument', () => {
  assert.deepEqual(splitExecArgs(['web', '--', 'sh', '-c', 'exit 3']), {
    own: [],
    target: 'web',
    command: ['sh', '-c', 'exit 3'],
  });
  assert.deepEqual(splitExecArgs(['-e', 'A=1', '--', 'web', 'env']), {
    own: ['-e', 'A=1'],
    target: 'web',
    command: ['env'],
  });
  assert.deepEqual(splitExecArgs(['-i']), { own: ['-i'], command: [] });
});
