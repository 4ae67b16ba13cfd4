import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { unitText } from './install-units.ts';

const SKIFF = resolve(import.meta.dirname, '..', '..', 'bin', 'skiff');
const skiff = (...args: string[]) => execFileSync(SKIFF, args, { encoding: 'utf8' });

test('install --root writes the unit and config under DIR, --dry-run writes nothing, uninstall removes them', () => {
  const root = mkdtempSync(join(tmpdir(), 'skiff-install-'));
  try {
    const dry = skiff('install', 'agent', '--root', root, '--dry-run');
    assert.match(dry, /^# dry run: nothing is changed/);
    assert.match(dry, /^write \/etc\/systemd\/system\/skiff-agent.service \(mode 0644\)\n {4}# Skiff agent/m);
    assert.equal(existsSync(join(root, 'etc')), false);

    writeFileSync(join(root, 'placeholder'), '');
    const done = skiff('install', 'agent', '--root', root);
    assert.doesNotMatch(done, /^run /m, 'no systemctl under --root');
    const unit = readFileSync(join(root, 'etc/systemd/system/skiff-agent.service'), 'utf8');
    assert.equal(unit, unitText('agent', SKIFF));
    assert.equal(statSync(join(root, 'etc/skiff/agent.env')).mode & 0o777, 0o600);
    writeFileSync(join(root, 'etc/skiff/agent.yaml'), 'server: https://mine:8080\n');
    assert.match(skiff('install', 'agent', '--root', root), /^keep \/etc\/skiff\/agent.yaml/m);
    assert.equal(readFileSync(join(root, 'etc/skiff/agent.yaml'), 'utf8'), 'server: https://mine:8080\n');

    skiff('uninstall', 'agent', '--root', root);
    assert.equal(existsSync(join(root, 'etc/systemd/system/skiff-agent.service')), false);
    assert.equal(existsSync(join(root, 'etc/skiff/agent.yaml')), true, 'kept without --purge');
    skiff('uninstall', 'agent', '--root', root, '--purge');
    assert.equal(existsSync(join(root, 'etc/skiff/agent.yaml')), false);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
