/**
 * One host's data plane: from each endpoints message, it makes sure the Skiff networks exist on
 * the engine, puts the service VIPs on their bridges (so containers' ARP for them is answered),
 * answers DNS on each network's gateway (port 53 redirected to a port of the DNS server's own),
 * checks the host's listeners before it claims a published port, points the HTTP proxy routes at
 * the serving replicas and writes the netfilter rules that carry everything else in the kernel.
 * Applies are serialised and level-triggered; a failed one is retried shortly, with the latest
 * endpoints. The rules outlive the agent (traffic keeps flowing while it restarts); the first
 * apply after a start rewrites them whole, and `skiff agent --cleanup` removes them.
 */

import { networkDefinition } from '../../docker/container-definition.ts';
import type { ContainerEngine } from '../../docker/container-engine.ts';
import type { AgentTally } from '../../metrics/agent-counters.ts';
import { proxiedRequestCounter } from '../../metrics/proxy-requests.ts';
import type { AddressPool } from '../../model/addressing.ts';
import { bridgePattern, dockerNetworkName, inNetwork, networkAddressing } from '../../model/addressing.ts';
import type { ServiceEndpoints } from '../../protocol/messages.ts';
import type { ServiceRegistry } from '../dns/dns-answer.ts';
import { DnsServer } from '../dns/dns-server.ts';
import { loadNameservers } from '../dns/resolv-conf.ts';
import { HaproxyStartError } from '../haproxy/haproxy-errors.ts';
import { HaproxyProxy } from '../haproxy/haproxy-proxy.ts';
import type { ProxyRoute } from '../proxy/proxy-route.ts';
import { ServiceProxy } from '../proxy/service-proxy.ts';
import { enableHairpin } from './bridge-hairpin.ts';
import { type DataPlanePlan, type PlannedTarget, PROXY_LISTEN, planDataPlane } from './data-plane-plan.ts';
import { describeConflict, portConflicts } from './listening-sockets.ts';
import { applyRules, NetfilterError } from './netfilter.ts';
import { chainPrefix, type HostPort, type KernelTarget, planRules } from './netfilter-rules.ts';
import { serviceRegistry } from './service-registry.ts';
import { syncVips } from './vip-addresses.ts';

const RETRY_MS = 2000;
/** A published port a host process holds is looked at again this often, in case it was let go. */
const CONFLICT_RECHECK_MS = 10_000;

export interface DataPlaneOptions {
  readonly engine: ContainerEngine;
  readonly clusterId: string;
  /** The cluster's address pool (from the server's welcome). */
  readonly pool: AddressPool;
  readonly nodeId: string;
  /**
   * The node's cluster address, where the engine publishes replica ports for other nodes
   * (agent/publish-address.ts); unset, those ports are on every address and not filtered.
   */
  readonly nodeAddress?: string;
  readonly log: (message: string) => void;
  /** A new problem the operator should see (an event); the same problem is reported once. */
  readonly onProblem: (message: string) => void;
  /** Counts the HTTP proxy's requests by service, for the server's metrics. */
  readonly tally?: AgentTally;
  /**
   * Serve `app_protocol: http` routes with the agent's own HAProxy (in `dir`) instead of the
   * built-in proxy; with `fallback`, an HAProxy that cannot start hands them back to the built-in.
   */
  readonly haproxy?: { readonly dir: string; readonly binary?: string; readonly fallback: boolean };
}

export class DataPlane {
  readonly #options: DataPlaneOptions;
  readonly #proxy: ServiceProxy;
  /** The HTTP routes' proxy when it is HAProxy; undefined: the built-in one serves them. */
  #haproxy: HaproxyProxy | undefined;
  /** HAProxy has served a table (after that a failure is retried, never a fallback). */
  #haproxyServed = false;
  #dns: DnsServer | undefined;
  #services: readonly ServiceEndpoints[] = [];
  /** Every node's address, from the server; undefined until a server that sends them does. */
  #peers: readonly string[] | undefined;
  /** Host ports the engine published for this cluster's containers (from the converge loop). */
  #localPorts: readonly HostPort[] = [];
  #queue: Promise<void> = Promise.resolve();
  #retry: NodeJS.Timeout | undefined;
  /** An apply is queued and has not begun yet. */
  #waiting = false;
  readonly #bridges = new Set<string>();
  #lastSkipped = '';
  #lastProblem = '';
  #registry: ServiceRegistry | undefined;
  /** The rule set last written, as text: an unchanged plan writes nothing. */
  #lastRules = '';
  #recheck: NodeJS.Timeout | undefined;
  #stopped = false;
  #received = false;

  constructor(options: DataPlaneOptions) {
    this.#options = options;
    const onRequest = options.tally ? proxiedRequestCounter(options.tally) : undefined;
    this.#proxy = new ServiceProxy(onRequest ? { onRequest } : {});
    if (options.haproxy !== undefined) {
      const { dir, binary } = options.haproxy;
      this.#haproxy = new HaproxyProxy({
        dir,
        ...(binary ? { binary } : {}),
        log: options.log,
        ...(onRequest ? { onRequest } : {}),
      });
    }
  }

  /** Which proxy serves the HTTP routes now. */
  get httpProxy(): 'builtin' | 'haproxy' {
    return this.#haproxy === undefined ? 'builtin' : 'haproxy';
  }

  /**
   * The Docker networks the latest endpoints need on this host (every network of every service:
   * VIPs live on their bridges), or undefined before the first endpoints arrive.
   */
  networkNames(): string[] | undefined {
    if (!this.#received) return undefined;
    const names = new Set(this.#services.flatMap((s) => s.networks.map((n) => n.name)));
    return [...names].map((name) => dockerNetworkName(this.#options.clusterId, name));
  }

  /** Takes the latest endpoints (and every node's address); the apply runs after any in progress. */
  update(services: readonly ServiceEndpoints[], peers?: readonly string[]): void {
    this.#services = services;
    this.#peers = peers;
    this.#received = true;
    this.#schedule();
  }

  /** The engine's published ports for our containers changed: the node-port rules follow. */
  setLocalPorts(ports: readonly HostPort[]): void {
    this.#localPorts = ports;
    if (this.#peers !== undefined && this.#options.nodeAddress !== undefined) this.#schedule();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retry);
    clearTimeout(this.#recheck);
    await this.#queue;
    await Promise.all([this.#proxy.stop(), this.#haproxy?.stop()]);
    await this.#dns?.stop();
  }

  #schedule(): void {
    clearTimeout(this.#retry);
    // An apply reads the latest endpoints and ports when it begins: one already waiting covers
    // this change too. A mass removal changes the published ports on every converge pass, and
    // each change queued an apply of its own (ip and iptables processes) beside the engine's
    // teardown of the containers.
    if (this.#waiting) return;
    this.#waiting = true;
    this.#queue = this.#queue
      .then(() => {
        this.#waiting = false;
        return this.#apply();
      })
      .then(() => {
        this.#lastProblem = '';
      })
      .catch((error: unknown) => {
        const problem = error instanceof Error ? error.message : String(error);
        this.#options.log(`data plane: ${problem}; retrying`);
        if (error instanceof NetfilterError && error.input)
          this.#options.log(`refused rules:\n${error.input}`);
        if (problem !== this.#lastProblem) this.#options.onProblem(`networking: ${problem}`);
        this.#lastProblem = problem;
        if (!this.#stopped) this.#retry = setTimeout(() => this.#schedule(), RETRY_MS);
      });
  }

  async #apply(): Promise<void> {
    if (this.#stopped) return;
    const { engine, clusterId, pool, log } = this.#options;
    const services = this.#services;
    const plan = this.#plan(services);
    const skipped = plan.skipped.join('; ');
    if (skipped && skipped !== this.#lastSkipped) {
      log(`data plane: ${skipped}`);
      this.#options.onProblem(`networking: ${skipped}`);
    }
    this.#lastSkipped = skipped;

    for (const network of plan.networks) {
      const definition = networkDefinition(network, { clusterId, pool });
      await engine.ensureNetwork(definition);
      this.#bridges.add(definition.bridge);
    }
    await syncVips(plan.vips, [...this.#bridges]);
    await enableHairpin([...this.#bridges]);

    const dns = await this.#dnsServer(services);
    for (const listener of dns.listeners) {
      if (!plan.dns.includes(listener.address))
        await dns.removeListener({ address: listener.address, port: 0 });
    }
    const dnsPorts = new Map<string, number>();
    for (const address of plan.dns) dnsPorts.set(address, (await dns.addListener({ address, port: 0 })).port);

    const routes: ProxyRoute[] = plan.routes.map((route) => {
      const network = route.network;
      return {
        key: route.key,
        mode: route.mode,
        listen: route.listen,
        backends: route.backends,
        strategy: route.strategy,
        ...(network === null
          ? {}
          : {
              allow: (client: string) => inNetwork(pool, client, network),
              allowCidrs: [networkAddressing(pool, network).subnet],
            }),
      };
    });
    // The kernel rules go in even when a proxy listener failed: only that port is left out.
    const listening = await this.#setRoutes(routes);

    const target = (planned: PlannedTarget): KernelTarget | undefined => {
      if (planned.kind === 'endpoints') return planned;
      const port =
        this.#haproxy?.boundPort(planned.routeKey, PROXY_LISTEN.host) ??
        this.#proxy.boundPort(planned.routeKey, PROXY_LISTEN.host);
      return port === undefined ? undefined : { kind: 'redirect', port };
    };
    const rules = planRules({
      prefix: chainPrefix(clusterId),
      vips: plan.kernel.vips.flatMap((v) => {
        const t = target(v.target);
        return t ? [{ ...v, target: t }] : [];
      }),
      ingress: plan.kernel.ingress.flatMap((i) => {
        const t = target(i.target);
        return t ? [{ ...i, target: t }] : [];
      }),
      dns: [...dnsPorts].map(([address, port]) => ({ address, port })),
      allVips: plan.vips.map((v) => v.address),
      ...(this.#peers === undefined || this.#options.nodeAddress === undefined
        ? {}
        : {
            nodePorts: {
              address: this.#options.nodeAddress,
              peers: this.#peers,
              bridges: bridgePattern(clusterId),
              openPorts: plan.hostModePorts,
              localPorts: this.#localPorts,
            },
          }),
    });
    const text = JSON.stringify([...rules.tables.nat, ...rules.tables.filter]);
    if (text !== this.#lastRules) {
      await applyRules(rules);
      this.#lastRules = text;
      log(
        `data plane: netfilter rules written (${plan.kernel.vips.length} service ports, ${plan.kernel.ingress.length} published)`,
      );
    }
    if (listening !== undefined) throw listening;
  }

  /**
   * Routes to their proxies: with HAProxy, it takes the HTTP routes and the built-in proxy keeps
   * the TCP ones (loopback published ports). Resolves to the listen error, if any, to throw last.
   */
  async #setRoutes(routes: readonly ProxyRoute[]): Promise<unknown> {
    const failed = (error: unknown) => error;
    const haproxy = this.#haproxy;
    if (haproxy === undefined) return this.#proxy.setRoutes(routes).then(() => undefined, failed);
    const [builtin, own] = await Promise.all([
      this.#proxy.setRoutes(routes.filter((r) => r.mode !== 'http')).then(() => undefined, failed),
      haproxy.setRoutes(routes.filter((r) => r.mode === 'http')).then(() => undefined, failed),
    ]);
    if (own instanceof HaproxyStartError && !this.#haproxyServed && this.#options.haproxy?.fallback) {
      // --http-proxy auto: an HAProxy that never came up hands its routes to the built-in proxy.
      this.#options.onProblem(
        `networking: haproxy did not start (${own.message}); the built-in HTTP proxy serves`,
      );
      this.#haproxy = undefined;
      await haproxy.stop();
      return this.#proxy.setRoutes(routes).then(() => undefined, failed);
    }
    if (!(own instanceof HaproxyStartError)) this.#haproxyServed = true;
    return builtin ?? own;
  }

  /** The plan, leaving out published ports that a host process holds (rechecked later). */
  #plan(services: readonly ServiceEndpoints[]): DataPlanePlan {
    const nodeId = this.#options.nodeId;
    const cluster = { clusterId: this.#options.clusterId, pool: this.#options.pool };
    const wanted = planDataPlane(services, nodeId, cluster).published;
    // HAProxy serves published ports on loopback in the agent's place: its sockets are ours.
    const conflicts = portConflicts(
      wanted.map((port) => ({ protocol: 'tcp' as const, port })),
      this.#haproxy?.pids ?? [],
    );
    clearTimeout(this.#recheck);
    if (conflicts.length > 0 && !this.#stopped) {
      this.#recheck = setTimeout(() => this.#schedule(), CONFLICT_RECHECK_MS);
    }
    const refusedPorts = new Map(conflicts.map((c) => [c.port, describeConflict(c)]));
    return planDataPlane(services, nodeId, cluster, { refusedPorts });
  }

  /** One DNS server for the host, answering from the registry of the latest endpoints. */
  async #dnsServer(services: readonly ServiceEndpoints[]): Promise<DnsServer> {
    this.#registry = serviceRegistry(services, this.#options.pool);
    if (this.#dns) return this.#dns;
    const upstreams = await loadNameservers();
    const registry: ServiceRegistry = {
      vipFor: (name, client) => this.#registry?.vipFor(name, client),
      endpointsFor: (name, port, client) => this.#registry?.endpointsFor(name, port, client),
    };
    const dns = new DnsServer({ listen: [], registry, upstreams, log: this.#options.log });
    await dns.start();
    this.#dns = dns;
    return dns;
  }
}
