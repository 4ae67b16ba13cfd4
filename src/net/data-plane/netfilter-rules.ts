/**
 * The kernel data path as data: from the service ports a host should serve, the netfilter chains
 * and rules that serve them, kube-proxy iptables-mode style. Pure: `planRules` turns the desired
 * state into a rule set, `restoreScript` diffs it against what `iptables-save` shows into one
 * `iptables-restore --noflush` input (each table swapped atomically), `cleanupScript` removes
 * every chain of a prefix and the jumps into them.
 *
 * Chains, all named `<prefix><KIND>[-<hash>]` with a per-cluster prefix (`SKIFF-1a2b3c-`):
 * - nat `SERVICES` (jumped to from PREROUTING and OUTPUT): VIP:port from the service's networks →
 *   its `SVC` chain; published ports on the host's own addresses → their `SVC` chain; the DNS
 *   gateway:53 (udp and tcp) → the agent's DNS on a port of its own; HTTP ports → REDIRECT to the proxy's port.
 * - nat `SVC-<hash>`: one rule per endpoint, `-m statistic --mode random --probability 1/(n-i)`,
 *   the last unconditional, each jumping to its `SEP-<hash>`.
 * - nat `SEP-<hash>`: marks for masquerade (a remote endpoint, or a client that is the endpoint
 *   itself: hairpin) and DNATs.
 * - nat `POSTROUTING`: masquerades marked packets.
 * - filter `FORWARD` (jumped to from DOCKER-USER, or FORWARD without Docker): accepts traffic we
 *   DNATed, whose Docker's DROP policy and network isolation chains would drop otherwise.
 * - filter `INPUT`: rejects what reaches a VIP without being DNATed (a client of another network,
 *   a port with no endpoint), so a host process listening on a wildcard address never answers
 *   for a service.
 * - filter `PEERS` (from `FORWARD`): the node-to-node published ports. Each replica port is
 *   published by the engine on the node's cluster address (an engine-chosen port, the one other
 *   nodes DNAT to); what the engine DNATs from that address into our bridges comes through only
 *   from another node's address. The user's own `host`-mode ports (`host_port`, open to anyone as
 *   the spec says) are let by first; ingress ports and VIPs are accepted before either. A
 *   container (on any bridge of the host) reaches those ports through the engine's user-space
 *   proxy instead (INPUT, not FORWARD), so INPUT sends them to `PEERS` too, port by port.
 */
import { createHash } from 'node:crypto';
import { isIPv4 } from 'node:net';

/** A bit of the packet mark: "masquerade this connection" (kube-proxy uses 0x4000; keep clear of it). */
export const MASQUERADE_MARK = '0x20000';

export interface KernelEndpoint {
  readonly host: string;
  readonly port: number;
  /** Reached through another node: the reply must come back through us. */
  readonly remote: boolean;
}

/** Where a service port's connections go: replicas (DNAT), or the local HTTP proxy (REDIRECT). */
export type KernelTarget =
  | { readonly kind: 'endpoints'; readonly endpoints: readonly KernelEndpoint[] }
  | { readonly kind: 'redirect'; readonly port: number };

/** A service's VIP:port on one network; only clients of `sourceCidr` are served. */
export interface VipService {
  readonly key: string;
  readonly vip: string;
  readonly port: number;
  readonly sourceCidr: string;
  readonly target: KernelTarget;
}

/** A published (ingress) port on every address of the host except loopback. */
export interface IngressService {
  readonly key: string;
  readonly port: number;
  readonly target: KernelTarget;
}

/** The agent's DNS: `address:53` (udp and tcp) goes to `address:port`, where it listens on both. */
export interface DnsRedirect {
  readonly address: string;
  readonly port: number;
}

/** This node's node-to-node published ports: reachable on `address` from `peers` only. */
export interface NodePortFilter {
  readonly address: string;
  /** Every node's address (ours too: harmless, a host's own traffic does not pass FORWARD). */
  readonly peers: readonly string[];
  /** The cluster's bridges, as an iptables interface pattern (`skiff1a2b3c-+`). */
  readonly bridges: string;
  /** `host`-mode `host_port`s: the user's published ports, open to anyone (the spec's feature). */
  readonly openPorts: readonly HostPort[];
  /**
   * Every host port the engine published for this cluster's containers here. A container on any
   * bridge of the engine is not DNATed by it (it skips traffic from its own bridges) but served by
   * its user-space proxy on the address: INPUT sends these ports (less `openPorts`) to `PEERS`
   * too, so another network's container cannot reach a replica that way either.
   */
  readonly localPorts: readonly HostPort[];
}

export interface HostPort {
  readonly port: number;
  readonly protocol: 'tcp' | 'udp';
}

export interface KernelPlanInput {
  readonly prefix: string;
  readonly vips: readonly VipService[];
  readonly ingress: readonly IngressService[];
  readonly dns: readonly DnsRedirect[];
  /** Every VIP on this host, with or without endpoints: what is not DNATed to them is refused. */
  readonly allVips: readonly string[];
  /** Unset (no peer list from the server yet, or a loopback node address): those ports are not filtered. */
  readonly nodePorts?: NodePortFilter;
}

export type TableName = 'nat' | 'filter';

/** Chains of our own, in order, each with its rules (without the `-A CHAIN` part). */
export interface RuleSet {
  readonly prefix: string;
  readonly tables: Readonly<Record<TableName, ReadonlyMap<string, readonly string[]>>>;
}

/** A built-in (or Docker's) chain that must jump to one of ours, and where. */
interface Hook {
  readonly table: TableName;
  readonly from: string;
  readonly to: string;
}

/** What every cluster's chains start with (`.ci/run` and `skiff agent --cleanup --all` remove them all). */
export const ALL_CLUSTERS_PREFIX = 'SKIFF-';

export function chainPrefix(clusterId: string): string {
  const id = clusterId.replace(/[^0-9a-zA-Z]/g, '').slice(0, 6);
  return `${ALL_CLUSTERS_PREFIX}${id}-`;
}

/** iptables allows 28 characters: `SKIFF-` 6 + id 6 + `-` + `SVC-` 4 + 10 hex = 27. */
function hashed(prefix: string, kind: 'SVC' | 'SEP', key: string): string {
  const digest = createHash('sha256').update(key).digest('hex').slice(0, 10).toUpperCase();
  return `${prefix}${kind}-${digest}`;
}

function comment(text: string): string {
  // iptables-restore splits on spaces outside double quotes; keys hold no quotes.
  return `-m comment --comment "${text.replaceAll('"', '')}"`;
}

/** `1/(n-i)` to ten places, as kube-proxy writes it, so equal inputs give equal text. */
function probability(remaining: number): string {
  return (1 / remaining).toFixed(10);
}

export function planRules(input: KernelPlanInput): RuleSet {
  const { prefix } = input;
  const nat = new Map<string, string[]>();
  const filter = new Map<string, string[]>();
  const services: string[] = [];
  const forward: string[] = [];
  const inputRules: string[] = [];
  nat.set(`${prefix}SERVICES`, services);

  const target = (key: string, t: KernelTarget): string | undefined => {
    if (t.kind === 'redirect') return `-j REDIRECT --to-ports ${t.port}`;
    if (t.endpoints.length === 0) return undefined;
    const svc = hashed(prefix, 'SVC', key);
    const rules: string[] = [];
    t.endpoints.forEach((endpoint, i) => {
      const endpointKey = `${key}|${endpoint.host}:${endpoint.port}`;
      const sep = hashed(prefix, 'SEP', endpointKey);
      const left = t.endpoints.length - i;
      const pick = left > 1 ? `-m statistic --mode random --probability ${probability(left)} ` : '';
      rules.push(`${comment(`${key} ${endpoint.host}:${endpoint.port}`)} ${pick}-j ${sep}`);
      const mark = `-j MARK --set-xmark ${MASQUERADE_MARK}/${MASQUERADE_MARK}`;
      const sepRules = [
        endpoint.remote ? mark : `-s ${endpoint.host}/32 ${mark}`,
        `-p tcp -m tcp -j DNAT --to-destination ${endpoint.host}:${endpoint.port}`,
      ];
      nat.set(sep, sepRules);
    });
    nat.set(svc, rules);
    return `-j ${svc}`;
  };

  for (const dns of input.dns) {
    for (const protocol of ['udp', 'tcp'])
      services.push(
        `-d ${dns.address}/32 -p ${protocol} -m ${protocol} --dport 53 ${comment('skiff dns')} -j DNAT --to-destination ${dns.address}:${dns.port}`,
      );
  }
  for (const vip of input.vips) {
    const jump = target(vip.key, vip.target);
    if (jump === undefined) continue;
    services.push(
      `-s ${vip.sourceCidr} -d ${vip.vip}/32 -p tcp -m tcp --dport ${vip.port} ${comment(vip.key)} ${jump}`,
    );
  }
  for (const ingress of input.ingress) {
    const jump = target(ingress.key, ingress.target);
    if (jump === undefined) continue;
    // Not loopback: a DNAT cannot take 127.0.0.1 off the host (route_localnet); the agent serves
    // loopback in user space, as docker-proxy does.
    services.push(
      `! -d 127.0.0.0/8 -p tcp -m tcp --dport ${ingress.port} -m addrtype --dst-type LOCAL ${comment(ingress.key)} ${jump}`,
    );
    forward.push(
      `-p tcp -m conntrack --ctstate DNAT --ctorigdstport ${ingress.port} ${comment(ingress.key)} -j ACCEPT`,
    );
  }
  for (const vip of [...new Set(input.allVips)].sort()) {
    forward.push(`-m conntrack --ctstate DNAT --ctorigdst ${vip}/32 -j ACCEPT`);
    inputRules.push(`-d ${vip}/32 -p tcp -j REJECT --reject-with tcp-reset`);
    inputRules.push(`-d ${vip}/32 -j REJECT --reject-with icmp-port-unreachable`);
  }
  nat.set(`${prefix}POSTROUTING`, [
    `-m mark ! --mark ${MASQUERADE_MARK}/${MASQUERADE_MARK} -j RETURN`,
    `-j MARK --set-xmark ${MASQUERADE_MARK}/0x0`,
    '-j MASQUERADE',
  ]);
  // Addresses come from the server and go into rule text: only plain IPv4 addresses are used.
  if (input.nodePorts && isIPv4(input.nodePorts.address)) {
    const { address, bridges, openPorts, localPorts } = input.nodePorts;
    const peers = input.nodePorts.peers.filter((peer) => isIPv4(peer));
    const fromEngine = `-m conntrack --ctstate DNAT --ctorigdst ${address}/32`;
    for (const p of [...openPorts].sort((a, b) => a.port - b.port)) {
      forward.push(
        `-p ${p.protocol} ${fromEngine} --ctorigdstport ${p.port} ${comment(`host port ${p.port}`)} -j RETURN`,
      );
    }
    forward.push(`-o ${bridges} ${fromEngine} ${comment('node ports')} -j ${prefix}PEERS`);
    const open = new Set(openPorts.map((p) => `${p.port}/${p.protocol}`));
    const guarded = [...localPorts]
      .filter((p) => !open.has(`${p.port}/${p.protocol}`))
      .sort((a, b) => a.port - b.port || (a.protocol < b.protocol ? -1 : 1));
    for (const p of guarded) {
      // Only containers come this way (the host's own connections arrive on lo, other hosts' are
      // DNATed to FORWARD): ours, another cluster's or plain Docker's. What our own VIP rules
      // DNATed here (a local replica known only by the node's address) is let by.
      inputRules.push(
        `! -i lo -d ${address}/32 -p ${p.protocol} -m ${p.protocol} --dport ${p.port} -m conntrack ! --ctstate DNAT ${comment('node port')} -j ${prefix}PEERS`,
      );
    }
    filter.set(`${prefix}PEERS`, [
      ...[...new Set(peers)].sort().map((peer) => `-s ${peer}/32 -j RETURN`),
      `-p tcp ${comment('not a node of this cluster')} -j REJECT --reject-with tcp-reset`,
      '-j REJECT --reject-with icmp-port-unreachable',
    ]);
  }
  filter.set(`${prefix}FORWARD`, forward);
  filter.set(`${prefix}INPUT`, inputRules);
  return { prefix, tables: { nat, filter } };
}

/** What `iptables-save` shows of one table: its chains, and its rules as saved. */
export interface SavedTable {
  readonly chains: ReadonlySet<string>;
  readonly rules: readonly string[];
}

export type SavedRules = Readonly<Record<TableName, SavedTable>>;

/** Parses `iptables-save` output (all tables; tables not in it are empty). */
export function parseSave(text: string): SavedRules {
  const tables: Record<TableName, { chains: Set<string>; rules: string[] }> = {
    nat: { chains: new Set(), rules: [] },
    filter: { chains: new Set(), rules: [] },
  };
  let current: { chains: Set<string>; rules: string[] } | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) {
      const name = line.slice(1).trim();
      current = name === 'nat' || name === 'filter' ? tables[name] : undefined;
    } else if (current && line.startsWith(':')) {
      const chain = line.slice(1).split(' ')[0];
      if (chain) current.chains.add(chain);
    } else if (current && line.startsWith('-A ')) {
      current.rules.push(line);
    }
  }
  return tables;
}

function hooks(prefix: string, saved: SavedRules): Hook[] {
  // Docker's DOCKER-USER runs before its isolation chains and is kept first in FORWARD by Docker.
  const forwardFrom = saved.filter.chains.has('DOCKER-USER') ? 'DOCKER-USER' : 'FORWARD';
  return [
    { table: 'nat', from: 'PREROUTING', to: `${prefix}SERVICES` },
    { table: 'nat', from: 'OUTPUT', to: `${prefix}SERVICES` },
    { table: 'nat', from: 'POSTROUTING', to: `${prefix}POSTROUTING` },
    { table: 'filter', from: forwardFrom, to: `${prefix}FORWARD` },
    { table: 'filter', from: 'INPUT', to: `${prefix}INPUT` },
  ];
}

function jumpsInto(saved: SavedTable, prefix: string): string[] {
  return saved.rules.filter((rule) => {
    const chain = rule.split(' ')[1] ?? '';
    return !chain.startsWith(prefix) && rule.includes(` -j ${prefix}`);
  });
}

/**
 * The `iptables-restore --noflush` input that makes the tables hold `desired`: every chain of ours
 * is declared (which flushes it) and refilled, chains of ours no longer wanted are declared and
 * deleted (nothing stale survives a crash), and a missing jump from a built-in chain is inserted
 * first in it. Always rewrites our chains: comparing with `iptables-save`'s canonical spelling of
 * each rule would be fragile, and one restore per change is cheap.
 */
export function restoreScript(desired: RuleSet, saved: SavedRules): string {
  const { prefix } = desired;
  const out: string[] = [];
  const wantedHooks = hooks(prefix, saved);
  for (const table of ['nat', 'filter'] as const) {
    const chains = desired.tables[table];
    const have = saved[table];
    const stale = [...have.chains].filter((c) => c.startsWith(prefix) && !chains.has(c)).sort();
    const missingHooks = wantedHooks.filter(
      (hook) => hook.table === table && !have.rules.some((r) => r === `-A ${hook.from} -j ${hook.to}`),
    );
    const wantedText = [...chains].flatMap(([chain, rules]) => rules.map((r) => `-A ${chain} ${r}`));
    out.push(`*${table}`);
    for (const chain of [...chains.keys(), ...stale]) out.push(`:${chain} - [0:0]`);
    out.push(...wantedText);
    // Jumps from chains not ours into a stale chain would block its deletion.
    for (const rule of jumpsInto(have, prefix)) {
      const to = rule.split(' -j ')[1]?.split(' ')[0] ?? '';
      if (stale.includes(to)) out.push(rule.replace(/^-A /, '-D '));
    }
    for (const chain of stale) out.push(`-X ${chain}`);
    for (const hook of missingHooks) out.push(`-I ${hook.from} 1 -j ${hook.to}`);
    out.push('COMMIT');
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

/** Removes every chain whose name starts with `prefix` (e.g. `SKIFF-` for every cluster) and the jumps into them. */
export function cleanupScript(saved: SavedRules, prefix: string): string {
  const out: string[] = [];
  for (const table of ['nat', 'filter'] as const) {
    const have = saved[table];
    const ours = [...have.chains].filter((c) => c.startsWith(prefix)).sort();
    const jumps = jumpsInto(have, prefix);
    if (ours.length === 0 && jumps.length === 0) continue;
    out.push(`*${table}`);
    for (const rule of jumps) out.push(rule.replace(/^-A /, '-D '));
    for (const chain of ours) out.push(`:${chain} - [0:0]`);
    for (const chain of ours) out.push(`-X ${chain}`);
    out.push('COMMIT');
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}
