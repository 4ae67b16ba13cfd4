import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EngineUnreachableError } from '../docker/container-engine.ts';
import { engineAddressSource, engineUnreachableAdvice } from './engine-advice.ts';

const unreachable = (code: string) =>
  new EngineUnreachableError('info: …', 'unix:///var/run/docker.sock', code);

test('no socket: what is wrong, the address tried, why that one, and the flag', () => {
  const text = engineUnreachableAdvice(unreachable('ENOENT'), 'default');
  assert.match(
    text,
    /^cannot reach the Docker engine at unix:\/\/\/var\/run\/docker.sock: there is no socket there/,
  );
  assert.match(text, /Is dockerd running\?/);
  assert.match(text, /neither --docker-host nor DOCKER_HOST is set/);
  assert.match(text, /--docker-host unix:\/\/\/PATH\/docker.sock, tcp:\/\/HOST:2375 or ssh:\/\/USER@HOST/);
});

test('no permission: the fix is permission, not starting dockerd', () => {
  const text = engineUnreachableAdvice(unreachable('EACCES'), 'env');
  assert.match(text, /permission denied/);
  assert.match(text, /docker group/);
  assert.doesNotMatch(text, /Is dockerd running/);
  assert.match(text, /comes from DOCKER_HOST/);
});

test('the address source: the flag, else DOCKER_HOST, else the default', () => {
  assert.equal(engineAddressSource('unix:///x', { DOCKER_HOST: 'tcp://y' }), 'flag');
  assert.equal(engineAddressSource(undefined, { DOCKER_HOST: 'tcp://y' }), 'env');
  assert.equal(engineAddressSource(undefined, {}), 'default');
});
