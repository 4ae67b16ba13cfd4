import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LogLineFormatter } from './log-prefix.ts';

test('without a terminal: the plain prefix, unpadded', () => {
  const formatter = new LogLineFormatter({ colour: false, pad: false });
  assert.equal(
    formatter.format({ container: 'api-server-0', line: 'listening' }),
    'api-server-0 | listening',
  );
  assert.equal(formatter.format({ container: 'api-server-10', line: 'x' }), 'api-server-10 | x');
});

test('padding starts at the expected width and grows with wider names', () => {
  const formatter = new LogLineFormatter({ colour: false, pad: true, minWidth: 'api-server-10'.length });
  assert.equal(formatter.format({ container: 'api-server-0', line: 'a' }), 'api-server-0  | a');
  assert.equal(formatter.format({ container: 'api-server-100', line: 'b' }), 'api-server-100 | b');
  assert.equal(formatter.format({ container: 'api-server-1', line: 'c' }), 'api-server-1   | c');
});

test('colours follow the slot, cycling through six', () => {
  const formatter = new LogLineFormatter({ colour: true, pad: false });
  const csi = '\x1b[';
  const colourOf = (container: string) => {
    const text = formatter.format({ container, line: '' });
    return text.startsWith(csi) ? text.slice(csi.length, text.indexOf('m')) : undefined;
  };
  assert.equal(colourOf('web-0'), '36');
  assert.equal(colourOf('web-1'), '33');
  assert.equal(colourOf('web-6'), '36');
  assert.equal(formatter.format({ container: 'web-1', line: 'hi' }), '\x1b[33mweb-1 |\x1b[0m hi');
});
