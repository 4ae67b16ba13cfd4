/**
 * The admission check, rule by rule: each baseline rule refuses its setting with the field and
 * the rule named, its exception lifts exactly that, and `privileged` mode or exception lifts all.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ServiceSpecInput } from '../model/service-spec.ts';
import { serviceSpecSchema } from '../model/service-spec.ts';
import type { ServiceAdmission } from './admission-policy.ts';
import {
  admissionFor,
  BASELINE_ADMISSION,
  DEFAULT_POLICY,
  withException,
  withoutException,
} from './admission-policy.ts';
import type { AdmissionInput } from './check-admission.ts';
import { checkAdmission, normalisePath } from './check-admission.ts';

const spec = (extra: Partial<ServiceSpecInput>) =>
  serviceSpecSchema.parse({ name: 'web', image: 'skiff-demo:v1', ...extra });
const check = (input: AdmissionInput, admission: ServiceAdmission = BASELINE_ADMISSION) =>
  checkAdmission(input, admission);

/** One case per rule: a spec that breaks it, the field, the rule and the exception that allows it. */
const CASES: { extra: Partial<ServiceSpecInput>; field: string; rule: string; exception: string }[] = [
  { extra: { privileged: true }, field: 'privileged', rule: 'privileged', exception: 'privileged' },
  {
    extra: { network_mode: 'host' },
    field: 'network_mode',
    rule: 'hostNamespaces',
    exception: 'host-network',
  },
  { extra: { pid_mode: 'host' }, field: 'pid_mode', rule: 'hostNamespaces', exception: 'host-pid' },
  { extra: { ipc_mode: 'host' }, field: 'ipc_mode', rule: 'hostNamespaces', exception: 'host-ipc' },
  { extra: { uts_mode: 'host' }, field: 'uts_mode', rule: 'hostNamespaces', exception: 'host-uts' },
  { extra: { userns_mode: 'host' }, field: 'userns_mode', rule: 'hostNamespaces', exception: 'host-userns' },
  {
    extra: { cap_add: ['CHOWN', 'NET_ADMIN'] },
    field: 'cap_add.1',
    rule: 'capabilities',
    exception: 'cap:NET_ADMIN',
  },
  { extra: { cap_add: ['ALL'] }, field: 'cap_add.0', rule: 'capabilities', exception: 'cap:ALL' },
  {
    extra: { devices: ['/dev/fuse:/dev/fuse:rwm'] },
    field: 'devices.0',
    rule: 'devices',
    exception: 'device:/dev/fuse',
  },
  {
    extra: { sysctls: { 'kernel.msgmax': '65536' } },
    field: 'sysctls.kernel.msgmax',
    rule: 'sysctls',
    exception: 'sysctl:kernel.msgmax',
  },
  { extra: { seccomp: 'unconfined' }, field: 'seccomp', rule: 'seccomp', exception: 'seccomp-unconfined' },
  {
    extra: { apparmor: 'unconfined' },
    field: 'apparmor',
    rule: 'apparmor',
    exception: 'apparmor-unconfined',
  },
];

describe('checkAdmission', () => {
  test('a plain spec, and every setting baseline allows, is admitted', () => {
    assert.deepEqual(check(spec({})), []);
    const allowed = spec({
      cap_add: ['NET_BIND_SERVICE', 'CHOWN'],
      cap_drop: ['ALL'],
      user: '1000:1000',
      read_only: true,
      sysctls: { 'net.ipv4.tcp_syncookies': '1', 'net.ipv4.ip_unprivileged_port_start': '0' },
      seccomp: 'default',
      apparmor: 'default',
    });
    assert.deepEqual(check(allowed), []);
  });

  for (const { extra, field, rule, exception } of CASES) {
    test(`${field} (${rule}) is refused, named, and allowed by ${exception}`, () => {
      const violations = check(spec(extra));
      assert.equal(violations.length, 1, JSON.stringify(violations));
      const [v] = violations;
      assert.equal(v?.field, field);
      assert.equal(v?.rule, rule);
      assert.equal(v?.exception, exception);
      assert.match(v?.message ?? '', new RegExp(`^${field.replaceAll('.', '\\.')}: `));
      assert.match(v?.message ?? '', /baseline\//);
      assert.match(v?.message ?? '', new RegExp(`skiff policy allow web ${exception}`));
      assert.deepEqual(check(spec(extra), { mode: 'baseline', allow: [exception] }), []);
      // Another service's exception, or another exception, does not help.
      assert.equal(check(spec(extra), { mode: 'baseline', allow: ['cap:SYS_TIME'] }).length, 1);
      assert.deepEqual(check(spec(extra), { mode: 'privileged', allow: [] }), []);
      assert.deepEqual(check(spec(extra), { mode: 'baseline', allow: ['privileged'] }), []);
    });
  }

  test('every rule but the host paths is exercised by a spec field above', () => {
    const rules = new Set(CASES.map((c) => c.rule));
    for (const rule of [
      'privileged',
      'hostNamespaces',
      'capabilities',
      'devices',
      'sysctls',
      'seccomp',
      'apparmor',
    ])
      assert.ok(rules.has(rule), rule);
  });

  test("the spec's bind volumes are host paths; named volumes and tmpfs are not", () => {
    const volumes = spec({
      volumes: [
        { type: 'volume', source: 'data', target: '/d' },
        { type: 'tmpfs', target: '/t' },
        { type: 'bind', source: '/var/run/docker.sock', target: '/s' },
        { type: 'bind', source: '/srv/www', target: '/w', read_only: true },
      ],
    });
    assert.deepEqual(
      check(volumes).map((v) => [v.field, v.rule, v.exception]),
      [
        ['volumes.2.source', 'engineSocket', 'bind:/var/run/docker.sock'],
        ['volumes.3.source', 'hostPaths', 'bind:/srv/www'],
      ],
    );
    assert.deepEqual(
      check(volumes, { mode: 'baseline', allow: ['bind:/srv', 'bind:/var/run/docker.sock'] }),
      [],
      'allowed by policy',
    );
  });

  test('every violation of a spec is reported, not just the first', () => {
    const all = check(spec({ privileged: true, network_mode: 'host', cap_add: ['SYS_ADMIN', 'NET_ADMIN'] }));
    assert.deepEqual(
      all.map((v) => v.field),
      ['privileged', 'network_mode', 'cap_add.0', 'cap_add.1'],
    );
  });

  test('host paths: refused by default, allowed at and below a bind exception, never above or beside it', () => {
    const mounts = (...paths: string[]) => ({
      ...spec({}),
      hostPaths: paths.map((path, i) => ({ field: `volumes.${i}.source`, path })),
    });
    const [v] = check(mounts('/var/log'));
    assert.equal(v?.rule, 'hostPaths');
    assert.equal(v?.field, 'volumes.0.source');
    assert.equal(v?.exception, 'bind:/var/log');
    const allowLog: ServiceAdmission = { mode: 'baseline', allow: ['bind:/var/log'] };
    assert.deepEqual(check(mounts('/var/log', '/var/log/nginx', '/var/log/'), allowLog), []);
    assert.equal(check(mounts('/var/logs'), allowLog).length, 1, 'a sibling with the same prefix');
    assert.equal(check(mounts('/var'), allowLog).length, 1, 'a parent');
    assert.equal(check(mounts('/var/log/../../etc'), allowLog).length, 1, '.. climbing out');
  });

  test('the Docker socket needs an exception naming it, however it is spelled', () => {
    for (const path of [
      '/var/run/docker.sock',
      '/run/docker.sock',
      '/var//run/./docker.sock',
      '/var/log/../run/docker.sock',
    ]) {
      const broad: ServiceAdmission = { mode: 'baseline', allow: ['bind:/', 'bind:/var/run', 'bind:/run'] };
      const [v] = check({ ...spec({}), hostPaths: [{ field: 'volumes.0.source', path }] }, broad);
      assert.equal(v?.rule, 'engineSocket', path);
    }
    const exact: ServiceAdmission = { mode: 'baseline', allow: ['bind:/var/run/docker.sock'] };
    assert.deepEqual(
      check({ ...spec({}), hostPaths: [{ field: 'v', path: '/var/run/docker.sock' }] }, exact),
      [],
    );
  });

  test('normalisePath', () => {
    assert.equal(normalisePath('/a//b/./c/'), '/a/b/c');
    assert.equal(normalisePath('/a/../../b'), '/b');
    assert.equal(normalisePath('/'), '/');
  });
});

describe('policy values', () => {
  test('admissionFor gives a service its own exceptions, sorted, and nobody else’s', () => {
    const policy = withException(withException(DEFAULT_POLICY, 'web', 'privileged'), 'web', 'cap:NET_ADMIN');
    assert.deepEqual(admissionFor(policy, 'web'), {
      mode: 'baseline',
      allow: ['cap:NET_ADMIN', 'privileged'],
    });
    assert.deepEqual(admissionFor(policy, 'db'), { mode: 'baseline', allow: [] });
    assert.equal(withException(policy, 'web', 'privileged'), policy, 'no change for a granted exception');
    const back = withoutException(withoutException(policy, 'web', 'privileged'), 'web', 'cap:NET_ADMIN');
    assert.deepEqual(back, DEFAULT_POLICY);
  });
});
