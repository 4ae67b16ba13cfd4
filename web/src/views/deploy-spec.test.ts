import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EMPTY_FORM, specFromForm } from './deploy-spec.ts';

test('the form makes the spec the API takes; what is not a number goes as typed, for the API to name', () => {
  const { spec, problems } = specFromForm({
    ...EMPTY_FORM,
    name: ' web ',
    image: 'skiff-demo:v1',
    replicas: '3',
    containerPort: '8080',
    hostPort: 'eighty',
    memoryMb: '64',
    env: 'A=1\nB=x=y\n',
    command: 'sh\n-c\necho hi',
    healthType: 'http',
    healthTarget: 'http://localhost:8080/health',
    healthInterval: '1s',
  });
  assert.deepEqual(problems, {});
  assert.deepEqual(spec, {
    name: 'web',
    image: 'skiff-demo:v1',
    replicas: 3,
    ports: [{ container_port: 8080, host_port: 'eighty' }],
    resources: { memory_mb: 64 },
    env: { A: '1', B: 'x=y' },
    command: ['sh', '-c', 'echo hi'],
    health_check: { type: 'http', endpoint: 'http://localhost:8080/health', interval: '1s' },
  });
});

test('lines the form itself cannot read are its own problems, at their field', () => {
  const { problems } = specFromForm({ ...EMPTY_FORM, env: 'A=1\nnot a pair', hostPort: '80' });
  assert.match(problems.env ?? '', /line 2/);
  assert.match(problems.hostPort ?? '', /container port/);
});
