/**
 * Splits a command line the way a POSIX shell would split words, so `--command "sh -c 'echo hi'"`
 * becomes ["sh", "-c", "echo hi"]. Quoting only: no expansion of variables, globs or `~`, because
 * the command runs in the container, not here.
 */

export class ShellSyntaxError extends Error {
  override readonly name = 'ShellSyntaxError';
}

/** Characters a backslash escapes inside double quotes (POSIX); elsewhere it stays literal. */
const DOUBLE_QUOTE_ESCAPABLE = new Set(['"', '\\', '$', '`', '\n']);

export function splitShellWords(text: string): string[] {
  const words: string[] = [];
  let word = '';
  // A word exists once anything, even an empty quoted string, has been seen since the last space.
  let inWord = false;
  let index = 0;
  while (index < text.length) {
    const char = text.charAt(index);
    if (/\s/.test(char)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      index += 1;
    } else if (char === "'") {
      const end = text.indexOf("'", index + 1);
      if (end === -1) throw new ShellSyntaxError('unterminated single quote');
      word += text.slice(index + 1, end);
      inWord = true;
      index = end + 1;
    } else if (char === '"') {
      index += 1;
      for (;;) {
        if (index >= text.length) throw new ShellSyntaxError('unterminated double quote');
        const inner = text.charAt(index);
        if (inner === '"') break;
        const next = text.charAt(index + 1);
        if (inner === '\\' && DOUBLE_QUOTE_ESCAPABLE.has(next)) {
          word += next;
          index += 2;
        } else {
          word += inner;
          index += 1;
        }
      }
      inWord = true;
      index += 1;
    } else if (char === '\\' && text.charAt(index + 1) === '\n') {
      // Backslash-newline is a line continuation, as in a shell script.
      index += 2;
    } else if (char === '\\') {
      if (index + 1 >= text.length) throw new ShellSyntaxError('trailing backslash');
      word += text.charAt(index + 1);
      inWord = true;
      index += 2;
    } else {
      word += char;
      inWord = true;
      index += 1;
    }
  }
  if (inWord) words.push(word);
  return words;
}
