import assert from 'node:assert/strict';
import { test } from 'node:test';
import { refusals } from './haproxy-runtime.ts';

test("an address change's report is no refusal; anything else HAProxy says is", () => {
  assert.deepEqual(
    refusals(
      "IP changed from '127.0.0.1' to '10.142.0.2', port changed from '9' to '8080' by 'stats socket command'\n\n",
    ),
    [],
  );
  assert.deepEqual(refusals('no need to change the addr, port and fqdn\n'), []);
  assert.deepEqual(refusals('\n'), []);
  assert.deepEqual(refusals("IP changed from 'a' to 'b'\nNo such server.\n"), ['No such server.']);
});
