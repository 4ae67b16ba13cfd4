import assert from 'node:assert/strict';
import { test } from 'node:test';
import { coldImageMs, shouldRestartWarm, WARM_RESTART_ENV } from './warm-restart.ts';

const STRIPPER = 'NativeModule internal/deps/amaro/dist/index';
const cold = {
  loadedBuiltins: ['NativeModule internal/http', STRIPPER],
  cacheDir: '/var/cache/skiff',
  cacheFromStart: true,
  canExecve: true,
  restarted: false,
};

test('a process that loaded the TypeScript stripper with a compile cache on restarts, once', () => {
  assert.equal(shouldRestartWarm(cold), true);
  assert.equal(shouldRestartWarm({ ...cold, restarted: true }), false);
});

test('no restart on a warm cache, without a cache given before the start, or without execve', () => {
  assert.equal(shouldRestartWarm({ ...cold, loadedBuiltins: ['NativeModule internal/http'] }), false);
  assert.equal(shouldRestartWarm({ ...cold, loadedBuiltins: undefined }), false);
  assert.equal(shouldRestartWarm({ ...cold, cacheDir: undefined }), false);
  // main.ts turned the cache on after it was compiled itself: a restart would load the stripper again.
  assert.equal(shouldRestartWarm({ ...cold, cacheFromStart: false }), false);
  assert.equal(shouldRestartWarm({ ...cold, canExecve: false }), false);
});

test("the cold image's run time, from the marker", () => {
  assert.equal(coldImageMs({ [WARM_RESTART_ENV]: '935.4' }), 935);
  assert.equal(coldImageMs({}), 0);
  assert.equal(coldImageMs({ [WARM_RESTART_ENV]: 'x' }), 0);
});
