/**
 * What Kubernetes Pod Security "baseline" allows, as Docker sees it: the capability set Docker
 * grants by default, the sysctls namespaced to one container, and the host paths that are worth a
 * rule of their own. Facts only; `check-admission.ts` applies them.
 */

/** Docker's default capability set (moby `oci/caps/defaults.go`); adding one of these is a no-op. */
export const DOCKER_DEFAULT_CAPABILITIES: ReadonlySet<string> = new Set([
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'NET_RAW',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
]);

/** Sysctls baseline allows: namespaced to the container, so they cannot reach the host. */
export const SAFE_SYSCTLS: ReadonlySet<string> = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.ping_group_range',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);

/**
 * Host paths whose mount hands over the host: the engine's socket (root on the host, and every
 * other container), so it needs an exception naming it exactly; a broader `bind:/var/run` does not
 * cover it.
 */
export const ENGINE_SOCKETS: readonly string[] = ['/var/run/docker.sock', '/run/docker.sock'];

/** The rule names violations carry, so an error says which rule refused and docs can list them. */
export const RULES = {
  privileged: 'baseline/privileged: privileged containers are refused',
  hostNamespaces:
    'baseline/host-namespaces: sharing the host network, PID, IPC, UTS or user namespace is refused',
  capabilities: "baseline/capabilities: capabilities beyond Docker's default set are refused",
  devices: 'baseline/devices: host devices are refused',
  sysctls: 'baseline/sysctls: sysctls outside the safe, namespaced set are refused',
  seccomp: 'baseline/seccomp: seccomp unconfined is refused',
  apparmor: 'baseline/apparmor: AppArmor unconfined is refused',
  hostPaths: 'baseline/host-paths: host-path (bind) mounts are refused',
  engineSocket: 'baseline/engine-socket: mounting the Docker socket is refused',
} as const;
export type RuleName = keyof typeof RULES;
