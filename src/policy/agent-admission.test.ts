import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { serviceSpecSchema } from '../model/service-spec.ts';
import type { TaskSpec } from '../protocol/messages.ts';
import { AdmissionRefusedError, assertAdmittedOnAgent } from './agent-admission.ts';

const task = (source: string, allow: string[]): TaskSpec => ({
  task_id: 't1',
  service: 'web',
  slot: 0,
  revision: 1,
  spec: serviceSpecSchema.parse({
    name: 'web',
    image: 'x',
    volumes: [{ type: 'bind', source, target: '/mnt' }],
  }),
  networks: [{ name: 'default', index: 0 }],
  admission: { mode: 'baseline', allow },
});

test('a bind source is checked as the host resolves it: a link under an allowed prefix to elsewhere is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-admission-'));
  try {
    mkdirSync(join(dir, 'real'));
    symlinkSync('/etc', join(dir, 'escape'));
    symlinkSync(join(dir, 'real'), join(dir, 'inside'));
    const allow = [`bind:${dir}`];
    assert.doesNotThrow(() => assertAdmittedOnAgent(task(join(dir, 'real'), allow)));
    assert.doesNotThrow(
      () => assertAdmittedOnAgent(task(join(dir, 'inside'), allow)),
      'a link that stays inside',
    );
    assert.throws(
      () => assertAdmittedOnAgent(task(join(dir, 'escape'), allow)),
      (error: unknown) =>
        error instanceof AdmissionRefusedError &&
        /volumes\.0\.source \(.*escape resolves to \/etc\): host path \/etc \(baseline\/host-paths/.test(
          error.message,
        ),
    );
    assert.throws(
      () => assertAdmittedOnAgent(task(join(dir, 'real'), [])),
      AdmissionRefusedError,
      'no exception',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
