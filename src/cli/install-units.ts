/**
 * The systemd units and starting configuration of the two daemons, as text (the files in
 * systemd/ are these, checked by install-units.test.ts), and the plan `skiff install` and
 * `skiff uninstall` carry out: steps as values, so `--dry-run` prints exactly what a real run does.
 *
 * Layout on a host: the binary at /usr/local/bin/skiff; /etc/skiff/ROLE.yaml (flags of
 * `skiff ROLE`, by long name; command-line flags win) and /etc/skiff/ROLE.env (secrets as
 * SKIFF_* variables, mode 0600); state in /var/lib/skiff/ROLE. Pure: what exists is passed in.
 */
import { posix } from 'node:path';

export type DaemonRole = 'server' | 'agent';
export const DAEMON_ROLES: readonly DaemonRole[] = ['server', 'agent'];

export const INSTALLED_BINARY = '/usr/local/bin/skiff';
export const CONFIG_DIR = '/etc/skiff';
export const STATE_DIR = '/var/lib/skiff';
export const UNIT_DIR = '/etc/systemd/system';

export const unitName = (role: DaemonRole) => `skiff-${role}.service`;
export const configPath = (role: DaemonRole) => `${CONFIG_DIR}/${role}.yaml`;
export const environmentPath = (role: DaemonRole) => `${CONFIG_DIR}/${role}.env`;

/** The unit of `skiff ROLE`, running `binary`. */
export function unitText(role: DaemonRole, binary = INSTALLED_BINARY): string {
  return role === 'server' ? serverUnit(binary) : agentUnit(binary);
}

function serverUnit(binary: string): string {
  return `# Skiff server: the control plane (API, store, scheduler). Installed by \`skiff install server\`.
[Unit]
Description=Skiff server (control plane)
After=network-online.target
Wants=network-online.target

[Service]
Type=exec
# One malloc arena, as bin/skiff sets for the server (bin/skiff: why); server.env may say otherwise.
Environment=MALLOC_ARENA_MAX=1
EnvironmentFile=-${environmentPath('server')}
ExecStart=${binary} server --config ${configPath('server')}
Restart=always
RestartSec=2s
TimeoutStopSec=30s
LimitNOFILE=65536
StateDirectory=skiff skiff/server
StateDirectoryMode=0700
# The server needs no Docker and no devices: it only listens and writes its data dir.
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths=${STATE_DIR}
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictSUIDSGID=yes
RestrictRealtime=yes
RestrictNamespaces=yes
LockPersonality=yes
SystemCallArchitectures=native
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6

[Install]
WantedBy=multi-user.target
`;
}

function agentUnit(binary: string): string {
  return `# Skiff agent: runs this host's replicas on its Docker engine. Installed by \`skiff install agent\`.
[Unit]
Description=Skiff agent
# Wants, not Requires: with Requires, restarting Docker would stop the agent and leave it stopped.
# The agent waits for its engine, and containers keep running while it restarts.
After=network-online.target docker.service docker.socket
Wants=network-online.target docker.service

[Service]
Type=exec
# Two malloc arenas, as bin/skiff sets (bin/skiff: why); agent.env may say otherwise.
Environment=MALLOC_ARENA_MAX=2
EnvironmentFile=-${environmentPath('agent')}
ExecStart=${binary} agent --config ${configPath('agent')}
Restart=always
RestartSec=2s
TimeoutStopSec=30s
LimitNOFILE=65536
StateDirectory=skiff skiff/agent
StateDirectoryMode=0700
# Only hardening that keeps the host's mount namespace: the agent mounts a tmpfs for secrets
# that dockerd must see, talks to /var/run/docker.sock, and writes netfilter rules and DNS on
# the cluster's bridges (so no ProtectSystem, PrivateTmp, PrivateDevices or dropped capabilities).
NoNewPrivileges=yes
RestrictSUIDSGID=yes
RestrictRealtime=yes
LockPersonality=yes
SystemCallArchitectures=native

[Install]
WantedBy=multi-user.target
`;
}

/** The starting /etc/skiff/ROLE.yaml: written once, never over an operator's. */
export function configText(role: DaemonRole): string {
  if (role === 'server') {
    return `# Flags of \`skiff server\` by their long names (skiff server --help); command-line flags win.
data-dir: ${STATE_DIR}/server
port: 8080
listen: 0.0.0.0
log-format: json
# address-pool: 10.240.0.0/12   # fixed at the cluster's first start
# san: skiff.example.com        # more names for the serving certificate
`;
  }
  return `# Flags of \`skiff agent\` by their long names (skiff agent --help); command-line flags win.
server: https://SERVER:8080     # set this: the server to join
data-dir: ${STATE_DIR}/agent
log-format: json
# address: 192.0.2.10           # where other hosts reach this one's published ports
# labels: { zone: eu-1 }
# The join token is a secret: put it in ${environmentPath('agent')} as SKIFF_JOIN_TOKEN=...
`;
}

/** The starting /etc/skiff/ROLE.env (mode 0600): where secrets go, as SKIFF_* variables. */
export function environmentText(role: DaemonRole): string {
  return role === 'server'
    ? '# Environment of skiff-server.service (mode 0600). E.g. SKIFF_TOKEN=<a strong admin token>\n'
    : '# Environment of skiff-agent.service (mode 0600). Needed only to join:\nSKIFF_JOIN_TOKEN=\n';
}

export type Step =
  | { readonly kind: 'copy'; readonly from: string; readonly to: string; readonly mode: number }
  | { readonly kind: 'write'; readonly path: string; readonly mode: number; readonly content: string }
  | { readonly kind: 'keep'; readonly path: string; readonly why: string }
  | { readonly kind: 'remove'; readonly path: string }
  | { readonly kind: 'run'; readonly argv: readonly string[] };

export interface InstallInput {
  readonly role: DaemonRole;
  /** The skiff being run: copied to INSTALLED_BINARY when it is a single executable elsewhere. */
  readonly executable: string;
  readonly executableIsBinary: boolean;
  /** Paths (as on the host) that exist already. */
  readonly exists: (path: string) => boolean;
  /** Enable and start the unit (not with --root, where there is no systemd to tell). */
  readonly start: boolean;
}

export function installPlan(input: InstallInput): Step[] {
  const { role } = input;
  const steps: Step[] = [];
  // A checkout has no single file to copy: its unit runs bin/skiff where it is.
  const binary = input.executableIsBinary ? INSTALLED_BINARY : input.executable;
  if (input.executableIsBinary && input.executable !== INSTALLED_BINARY) {
    steps.push({ kind: 'copy', from: input.executable, to: INSTALLED_BINARY, mode: 0o755 });
  }
  steps.push({
    kind: 'write',
    path: posix.join(UNIT_DIR, unitName(role)),
    mode: 0o644,
    content: unitText(role, binary),
  });
  const once = (path: string, mode: number, content: string) =>
    steps.push(
      input.exists(path)
        ? { kind: 'keep', path, why: 'exists; an operator’s file is never overwritten' }
        : { kind: 'write', path, mode, content },
    );
  once(configPath(role), 0o644, configText(role));
  once(environmentPath(role), 0o600, environmentText(role));
  if (input.start) {
    steps.push({ kind: 'run', argv: ['systemctl', 'daemon-reload'] });
    steps.push({ kind: 'run', argv: ['systemctl', 'enable', '--now', unitName(role)] });
  }
  return steps;
}

export interface UninstallInput {
  readonly role: DaemonRole;
  /** The skiff that removes an agent's netfilter rules once it is stopped. */
  readonly skiff: string;
  readonly exists: (path: string) => boolean;
  /** Also remove /etc/skiff/ROLE.yaml and .env; state in /var/lib/skiff is kept either way. */
  readonly purge: boolean;
  readonly stop: boolean;
}

export function uninstallPlan(input: UninstallInput): Step[] {
  const { role } = input;
  const steps: Step[] = [];
  if (input.stop) steps.push({ kind: 'run', argv: ['systemctl', 'disable', '--now', unitName(role)] });
  const unit = posix.join(UNIT_DIR, unitName(role));
  if (input.exists(unit)) steps.push({ kind: 'remove', path: unit });
  if (input.stop) steps.push({ kind: 'run', argv: ['systemctl', 'daemon-reload'] });
  // The rules outlive a stopped agent on purpose (traffic flows through a restart); not an uninstall.
  if (input.stop && role === 'agent') {
    steps.push({
      kind: 'run',
      argv: [input.skiff, 'agent', '--cleanup', '--data-dir', `${STATE_DIR}/agent`],
    });
  }
  for (const path of [configPath(role), environmentPath(role)]) {
    if (!input.exists(path)) continue;
    steps.push(input.purge ? { kind: 'remove', path } : { kind: 'keep', path, why: 'kept without --purge' });
  }
  steps.push({ kind: 'keep', path: `${STATE_DIR}/${role}`, why: 'the cluster’s state; remove it by hand' });
  return steps;
}

/** How a step reads in the output (`--dry-run` adds each written file's content). */
export function describeStep(step: Step): string {
  const mode = (m: number) => m.toString(8).padStart(4, '0');
  switch (step.kind) {
    case 'copy':
      return `copy ${step.from} -> ${step.to} (mode ${mode(step.mode)})`;
    case 'write':
      return `write ${step.path} (mode ${mode(step.mode)})`;
    case 'keep':
      return `keep ${step.path} (${step.why})`;
    case 'remove':
      return `remove ${step.path}`;
    case 'run':
      return `run ${step.argv.join(' ')}`;
  }
}
