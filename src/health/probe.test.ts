import assert from 'node:assert/strict';
import { test } from 'node:test';
import { healthCheckSchema } from '../model/service-spec.ts';
import { probeAddress } from './probe.ts';

test('localhost in an endpoint means the container itself', () => {
  const check = healthCheckSchema.parse({ type: 'http', endpoint: 'http://localhost:8080/health' });
  assert.deepEqual(probeAddress(check, '172.17.0.5'), { host: '172.17.0.5', port: 8080, path: '/health' });
});

test('a port and path without an endpoint probe the container', () => {
  const check = healthCheckSchema.parse({ type: 'http', port: 9000, path: '/ready?deep=1' });
  assert.deepEqual(probeAddress(check, '10.0.0.2'), { host: '10.0.0.2', port: 9000, path: '/ready?deep=1' });
});

test('an endpoint naming another host is probed as written', () => {
  const check = healthCheckSchema.parse({ type: 'tcp', endpoint: 'db.internal:5432' });
  assert.deepEqual(probeAddress(check, '10.0.0.2'), { host: 'db.internal', port: 5432, path: '/' });
});
