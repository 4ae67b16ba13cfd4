/**
 * The admission check, pure: a service spec and what its service is held to in, violations out
 * (empty = admitted). The server runs it on deploy (and on a rollback's target), the agent again
 * before creating a container, so what one refuses the other refuses too.
 */
import type { ServiceSpec } from '../model/service-spec.ts';
import type { PolicyException, ServiceAdmission } from './admission-policy.ts';
import type { RuleName } from './baseline-rules.ts';
import { DOCKER_DEFAULT_CAPABILITIES, ENGINE_SOCKETS, RULES, SAFE_SYSCTLS } from './baseline-rules.ts';

export interface Violation {
  /** The spec field, as the API names it (`cap_add.0`, `sysctls.kernel.msgmax`). */
  readonly field: string;
  readonly rule: RuleName;
  /** The exception an admin can grant to allow it (`skiff policy allow SERVICE <exception>`). */
  readonly exception: PolicyException;
  readonly message: string;
}

/** The settings the check reads: the spec's privilege block and its bind mounts. */
export type AdmissionInput = Pick<
  ServiceSpec,
  | 'name'
  | 'privileged'
  | 'cap_add'
  | 'network_mode'
  | 'pid_mode'
  | 'ipc_mode'
  | 'uts_mode'
  | 'userns_mode'
  | 'devices'
  | 'sysctls'
  | 'seccomp'
  | 'apparmor'
  | 'volumes'
> & {
  /** More host paths to check beside the spec's `bind` volumes (named by their field). */
  readonly hostPaths?: readonly { readonly field: string; readonly path: string }[];
};

/** The host paths a spec bind-mounts, named by their field (`volumes.0.source`). */
export function boundHostPaths(
  spec: Pick<AdmissionInput, 'volumes' | 'hostPaths'>,
): { field: string; path: string }[] {
  const binds = (spec.volumes ?? []).flatMap((mount, index) =>
    mount.type === 'bind' && mount.source !== undefined
      ? [{ field: `volumes.${index}.source`, path: mount.source }]
      : [],
  );
  return [...binds, ...(spec.hostPaths ?? [])];
}

export function checkAdmission(spec: AdmissionInput, admission: ServiceAdmission): Violation[] {
  if (admission.mode === 'privileged') return [];
  const allowed = new Set(admission.allow);
  // A `privileged` exception lifts every rule: a privileged container can do all of it anyway.
  if (allowed.has('privileged')) return [];
  const violations: Violation[] = [];
  const refuse = (field: string, rule: RuleName, exception: PolicyException, what: string) => {
    if (allowed.has(exception)) return;
    violations.push({
      field,
      rule,
      exception,
      message: `${field}: ${what} (${RULES[rule]}; an admin can allow it with: skiff policy allow ${spec.name} ${exception})`,
    });
  };

  if (spec.privileged) refuse('privileged', 'privileged', 'privileged', 'a privileged container');
  const namespaces = [
    ['network_mode', spec.network_mode, 'host-network'],
    ['pid_mode', spec.pid_mode, 'host-pid'],
    ['ipc_mode', spec.ipc_mode, 'host-ipc'],
    ['uts_mode', spec.uts_mode, 'host-uts'],
    ['userns_mode', spec.userns_mode, 'host-userns'],
  ] as const;
  for (const [field, mode, exception] of namespaces) {
    if (mode === 'host') refuse(field, 'hostNamespaces', exception, "the host's namespace");
  }
  (spec.cap_add ?? []).forEach((cap, index) => {
    if (!DOCKER_DEFAULT_CAPABILITIES.has(cap))
      refuse(`cap_add.${index}`, 'capabilities', `cap:${cap}`, `${cap} is not in Docker's default set`);
  });
  (spec.devices ?? []).forEach((device, index) => {
    const hostPath = device.split(':')[0] ?? device;
    refuse(`devices.${index}`, 'devices', `device:${hostPath}`, `host device ${hostPath}`);
  });
  for (const name of Object.keys(spec.sysctls ?? {})) {
    if (!SAFE_SYSCTLS.has(name))
      refuse(`sysctls.${name}`, 'sysctls', `sysctl:${name}`, `sysctl ${name} is not safe`);
  }
  if (spec.seccomp === 'unconfined') refuse('seccomp', 'seccomp', 'seccomp-unconfined', 'seccomp unconfined');
  if (spec.apparmor === 'unconfined')
    refuse('apparmor', 'apparmor', 'apparmor-unconfined', 'AppArmor unconfined');
  for (const mount of boundHostPaths(spec)) {
    const violation = hostPathViolation(mount.path, allowed);
    if (violation) refuse(mount.field, violation.rule, violation.exception, `host path ${mount.path}`);
  }
  return violations;
}

/**
 * A host path is allowed by `bind:P` when it is P or below it; the engine's socket only by an
 * exception naming the socket itself, never by a broader directory.
 */
function hostPathViolation(
  path: string,
  allowed: ReadonlySet<string>,
): { rule: RuleName; exception: PolicyException } | undefined {
  const normal = normalisePath(path);
  if (ENGINE_SOCKETS.includes(normal)) {
    return allowed.has(`bind:${normal}`) ? undefined : { rule: 'engineSocket', exception: `bind:${normal}` };
  }
  for (const exception of allowed) {
    if (!exception.startsWith('bind:')) continue;
    const prefix = normalisePath(exception.slice('bind:'.length));
    if (normal === prefix || normal.startsWith(prefix === '/' ? '/' : `${prefix}/`)) return undefined;
  }
  return { rule: 'hostPaths', exception: `bind:${normal}` };
}

/** `/var//run/./docker.sock/` → `/var/run/docker.sock`; `..` is resolved so it cannot climb out of an exception. */
export function normalisePath(path: string): string {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return `/${parts.join('/')}`;
}
