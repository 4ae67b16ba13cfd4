import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { COMMAND_OPTIONS } from './command-options.ts';
import { configFileArgs } from './config-file.ts';
import {
  configText,
  DAEMON_ROLES,
  describeStep,
  INSTALLED_BINARY,
  installPlan,
  type Step,
  uninstallPlan,
  unitName,
  unitText,
} from './install-units.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');

for (const role of DAEMON_ROLES) {
  test(`systemd/${unitName(role)} is the unit skiff install writes`, () => {
    assert.equal(readFileSync(join(ROOT, 'systemd', unitName(role)), 'utf8'), unitText(role));
  });

  test(`systemd-analyze verify passes on the ${role} unit, with no warning`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-units-'));
    try {
      // verify checks that ExecStart's program exists: a real executable stands in for the binary.
      const file = join(dir, unitName(role));
      writeFileSync(
        file,
        unitText(role, execFileSync('readlink', ['-f', '/bin/true'], { encoding: 'utf8' }).trim()),
      );
      const result = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
      assert.equal(result.status, 0, result.stderr);
      // Unknown keys and bad values are only warnings (exit 0): none may be about this unit.
      const about = result.stderr.split('\n').filter((line) => line.includes(unitName(role)));
      assert.deepEqual(about, []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`the starting ${role}.yaml is a valid config file of skiff ${role}`, async () => {
    const args = await configFileArgs(configText(role), `${role}.yaml`, COMMAND_OPTIONS[role]);
    assert.ok(args.includes('--log-format=json'));
  });
}

test('the agent unit keeps the host mount namespace; the server unit is sandboxed', () => {
  const agent = unitText('agent');
  for (const option of [
    'ProtectSystem',
    'PrivateTmp',
    'PrivateDevices',
    'ProtectHome',
    'ReadWritePaths',
    'CapabilityBoundingSet',
  ]) {
    assert.doesNotMatch(
      agent,
      new RegExp(`^${option}=`, 'm'),
      `${option} would hide the agent's mounts from dockerd`,
    );
  }
  assert.match(agent, /^After=.*docker\.service/m);
  assert.match(agent, /^Wants=.*docker\.service/m);
  assert.doesNotMatch(agent, /^Requires=/m);
  assert.match(unitText('server'), /^ProtectSystem=strict$/m);
  for (const role of DAEMON_ROLES) {
    assert.match(unitText(role), new RegExp(`^EnvironmentFile=-/etc/skiff/${role}\\.env$`, 'm'));
    assert.match(unitText(role), /^Restart=always$/m);
  }
});

const paths = (steps: readonly Step[]) => steps.map(describeStep);

test('install copies the binary, writes the unit, keeps existing config, then enables it', () => {
  const steps = installPlan({
    role: 'agent',
    executable: '/home/me/skiff',
    executableIsBinary: true,
    exists: (path) => path === '/etc/skiff/agent.yaml',
    start: true,
  });
  assert.deepEqual(paths(steps), [
    `copy /home/me/skiff -> ${INSTALLED_BINARY} (mode 0755)`,
    'write /etc/systemd/system/skiff-agent.service (mode 0644)',
    'keep /etc/skiff/agent.yaml (exists; an operator’s file is never overwritten)',
    'write /etc/skiff/agent.env (mode 0600)',
    'run systemctl daemon-reload',
    'run systemctl enable --now skiff-agent.service',
  ]);
});

test('from a checkout the unit runs its bin/skiff, and nothing is copied', () => {
  const steps = installPlan({
    role: 'server',
    executable: '/src/skiff/bin/skiff',
    executableIsBinary: false,
    exists: () => false,
    start: false,
  });
  assert.equal(steps[0]?.kind, 'write');
  assert.match(
    steps[0]?.kind === 'write' ? steps[0].content : '',
    /^ExecStart=\/src\/skiff\/bin\/skiff server --config/m,
  );
  assert.ok(!steps.some((step) => step.kind === 'run' || step.kind === 'copy'));
});

test('uninstall stops, removes the unit and an agent’s rules; config stays without --purge, state always', () => {
  const exists = () => true;
  const kept = paths(
    uninstallPlan({ role: 'agent', skiff: INSTALLED_BINARY, exists, purge: false, stop: true }),
  );
  assert.deepEqual(kept, [
    'run systemctl disable --now skiff-agent.service',
    'remove /etc/systemd/system/skiff-agent.service',
    'run systemctl daemon-reload',
    `run ${INSTALLED_BINARY} agent --cleanup --data-dir /var/lib/skiff/agent`,
    'keep /etc/skiff/agent.yaml (kept without --purge)',
    'keep /etc/skiff/agent.env (kept without --purge)',
    'keep /var/lib/skiff/agent (the cluster’s state; remove it by hand)',
  ]);
  const purged = paths(
    uninstallPlan({ role: 'server', skiff: INSTALLED_BINARY, exists, purge: true, stop: false }),
  );
  assert.ok(purged.includes('remove /etc/skiff/server.yaml'));
  assert.ok(!purged.some((line) => line.startsWith('run ')));
});
