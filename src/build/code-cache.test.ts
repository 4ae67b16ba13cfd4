import assert from 'node:assert/strict';
import { test } from 'node:test';
import { codeCacheFlagSet, codeCacheFlagSets, wrapCommonJs } from './code-cache.ts';

const table = {
  common: ['--max-semi-space-size=8', '--heap-growing-percent=50'],
  own: { agent: ['--max-semi-space-size=1', '--max-opt=1'], other: [] },
};

test('a code cache for the common options and one per command with options of its own', () => {
  assert.deepEqual(codeCacheFlagSets(table), [
    { name: 'common', flags: ['--max-semi-space-size=8', '--heap-growing-percent=50'] },
    {
      name: 'agent',
      flags: [
        '--max-semi-space-size=8',
        '--heap-growing-percent=50',
        '--max-semi-space-size=1',
        '--max-opt=1',
      ],
    },
  ]);
});

test("the cache offered is the one made under this process's options, an operator's after them", () => {
  assert.equal(codeCacheFlagSet(table.common, table), 'common');
  assert.equal(codeCacheFlagSet([...table.common, ...table.own.agent], table), 'agent');
  assert.equal(
    codeCacheFlagSet([...table.common, ...table.own.agent, '--max-old-space-size=64'], table),
    'agent',
  );
  assert.equal(codeCacheFlagSet([...table.common, '--max-opt=2'], table), 'common');
  assert.equal(codeCacheFlagSet(['--max-semi-space-size=8'], table), undefined);
});

test("the bundle is wrapped as Node wraps a CommonJS module's source", () => {
  const wrapped = wrapCommonJs('module.exports = [exports, typeof require, __filename, __dirname];');
  const fn = new Function(`return ${wrapped}`)() as (...args: unknown[]) => void;
  const module = { exports: {} as unknown };
  fn(module.exports, () => undefined, module, '/f', '/');
  assert.deepEqual(module.exports, [{}, 'function', '/f', '/']);
});
