import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ShellSyntaxError, splitShellWords } from './shell-words.ts';

test('splits on blanks and honours quotes as a shell does', () => {
  assert.deepEqual(splitShellWords(`sh -c 'echo hi; sleep 1'`), ['sh', '-c', 'echo hi; sleep 1']);
  assert.deepEqual(splitShellWords('  a\tb \n c  '), ['a', 'b', 'c']);
  assert.deepEqual(splitShellWords(`echo "a 'b' c" 'd "e"'`), ['echo', "a 'b' c", 'd "e"']);
  assert.deepEqual(splitShellWords(`a"b"'c'd`), ['abcd']);
  assert.deepEqual(splitShellWords(`echo '' ""`), ['echo', '', '']);
  assert.deepEqual(splitShellWords(''), []);
});

test('backslashes escape outside quotes, only some characters inside double quotes, none in single', () => {
  assert.deepEqual(splitShellWords('a\\ b c'), ['a b', 'c']);
  assert.deepEqual(splitShellWords(`"say \\"hi\\" \\$HOME \\n"`), ['say "hi" $HOME \\n']);
  assert.deepEqual(splitShellWords(`'a\\b'`), ['a\\b']);
  assert.deepEqual(splitShellWords('one \\\ntwo'), ['one', 'two']);
});

test('no expansion: variables and globs reach the container as written', () => {
  assert.deepEqual(splitShellWords('echo $HOME *.txt ~'), ['echo', '$HOME', '*.txt', '~']);
});

test('unterminated quotes and a trailing backslash are syntax errors', () => {
  for (const bad of [`'abc`, `"abc`, `abc\\`, `"abc\\"`]) {
    assert.throws(() => splitShellWords(bad), ShellSyntaxError, bad);
  }
});
