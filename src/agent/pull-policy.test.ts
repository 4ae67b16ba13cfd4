import assert from 'node:assert/strict';
import { test } from 'node:test';
import { explainPullFailure, needsPull } from './pull-policy.ts';

const PINNED = `127.0.0.1:5000/app:v1@sha256:${'a'.repeat(64)}`;

test('a digest present is never pulled, whatever the policy; a tag only when absent unless `always`', () => {
  const cases: [string, 'always' | 'missing' | undefined, boolean, boolean][] = [
    [PINNED, undefined, true, false],
    [PINNED, 'always', true, false],
    [PINNED, 'missing', false, true],
    ['app:v1', undefined, true, false],
    ['app:v1', 'missing', true, false],
    ['app:v1', 'missing', false, true],
    ['app:v1', 'always', true, true],
    ['app:v1', 'always', false, true],
  ];
  for (const [reference, policy, present, expected] of cases)
    assert.equal(
      needsPull({ reference, policy, present }),
      expected,
      `${reference} ${policy} present=${present}`,
    );
});

test('a refused or missing credential is named with the command that fixes it; a timeout with its flag', () => {
  const context = { reference: '127.0.0.1:5000/app:v1', timeoutMs: 300_000 };
  const none = explainPullFailure(
    'pull 127.0.0.1:5000/app:v1: Head "https://127.0.0.1:5000/v2/app/manifests/v1": no basic auth credentials',
    { ...context, withCredential: false },
  );
  assert.match(
    none,
    /^pull .*no basic auth credentials — registry 127\.0\.0\.1:5000 needs a credential and none is stored \(skiff registry login 127\.0\.0\.1:5000\)$/,
  );
  const wrong = explainPullFailure('pull 127.0.0.1:5000/app:v1: unauthorized: authentication required', {
    ...context,
    withCredential: true,
  });
  assert.match(wrong, /registry 127\.0\.0\.1:5000 refused the stored credential/);
  assert.equal(
    explainPullFailure('pull 127.0.0.1:5000/app:v1: timed out (the pull timeout)', {
      ...context,
      withCredential: true,
    }),
    'pull 127.0.0.1:5000/app:v1: timed out after 300 s (agent --pull-timeout)',
  );
  // Loopback registries are insecure to the engine: it retries over HTTP and reports that failure.
  const fallback =
    'pull 127.0.0.1:5000/app:v1: (HTTP code 500) server error - error parsing HTTP 400 response body: invalid character \'C\' looking for beginning of value: "Client sent an HTTP request to an HTTPS server.\n"';
  assert.match(
    explainPullFailure(fallback, { ...context, withCredential: false }),
    /— registry 127\.0\.0\.1:5000 refused the pull over HTTPS: it needs a credential and none is stored \(skiff registry login 127\.0\.0\.1:5000\), or the engine does not trust its certificate$/,
  );
  assert.match(
    explainPullFailure(fallback, { ...context, withCredential: true }),
    /it refused the stored credential \(skiff registry login 127\.0\.0\.1:5000 to replace it\)/,
  );
  const other = 'pull 127.0.0.1:1/none:latest: connect ECONNREFUSED';
  assert.equal(explainPullFailure(other, { ...context, withCredential: false }), other);
});
