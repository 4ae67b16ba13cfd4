import assert from 'node:assert/strict';
import { test } from 'node:test';
import { API_VERSION } from '../model/api-version.ts';
import { versionViewSchema } from '../model/version-view.ts';
import { PROTOCOL_VERSION } from '../protocol/features.ts';
import { versionRoutes } from './version-route.ts';

test('GET /version names the release, build, API version and the agent protocols accepted', async () => {
  const response = await versionRoutes().request('/version');
  assert.equal(response.status, 200);
  const view = versionViewSchema.parse(await response.json());
  assert.equal(view.api_version, API_VERSION);
  assert.equal(view.protocol_version, PROTOCOL_VERSION);
  assert.deepEqual(view.agent_protocols, { min: PROTOCOL_VERSION - 1, max: PROTOCOL_VERSION + 1 });
  assert.match(view.version, /^\d+\.\d+\.\d+/);
  assert.match(view.commit, /^([0-9a-f]{40}(-dirty)?|unknown)$/);
  assert.equal(view.build, 'source');
});
