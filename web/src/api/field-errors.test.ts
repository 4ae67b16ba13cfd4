import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fieldErrors, messagesAt } from './field-errors.ts';

test('details are split by the field they name; the rest stays general', () => {
  const errors = fieldErrors('invalid service spec: name: bad (and 2 more, see details)', [
    'name: must be a DNS label',
    'ports.0.host_port: Too big: expected number to be <=65535',
    'resources.memory_mb: Too small: expected number to be >=6',
    '… and 3 more problems',
  ]);
  assert.deepEqual(messagesAt(errors, 'name'), ['must be a DNS label']);
  assert.deepEqual(messagesAt(errors, 'ports'), ['0.host_port: Too big: expected number to be <=65535']);
  assert.deepEqual(messagesAt(errors, 'ports.0.host_port'), ['Too big: expected number to be <=65535']);
  assert.deepEqual(messagesAt(errors, 'resources.memory_mb'), ['Too small: expected number to be >=6']);
  assert.deepEqual(messagesAt(errors, 'image'), []);
  assert.deepEqual(errors.general, ['… and 3 more problems']);
});

test('a conflict without details is general; so is a message with no field', () => {
  const errors = fieldErrors('host port 8080 is published by service api', undefined);
  assert.deepEqual(errors.general, ['host port 8080 is published by service api']);
  assert.equal(errors.byField.size, 0);
});
