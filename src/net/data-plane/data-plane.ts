/**
 * One host's data plane: from each endpoints message, it makes sure the Skiff networks exist on
 * the engine, puts the service VIPs on their bridges, answers DNS on each network's gateway and
 * points the proxy routes at the serving replicas. Applies are serialised and level-triggered; a
 * failed one is retried shortly, with the latest endpoints.
 */

import { networkInterfaces } from 'node:os';
import { networkDefinition } from '../../docker/container-definition.ts';
import type { ContainerEngine } from '../../docker/container-engine.ts';
import type { AddressPool } from '../../model/addressing.ts';
import { inNetwork, isOwnBridge } from '../../model/addressing.ts';
import type { ServiceEndpoints } from '../../protocol/messages.ts';
import type { ServiceRegistry } from '../dns/dns-answer.ts';
import { DnsServer } from '../dns/dns-server.ts';
import { loadNameservers } from '../dns/resolv-conf.ts';
import type { ProxyRoute } from '../proxy/proxy-route.ts';
import { ServiceProxy } from '../proxy/service-proxy.ts';
import { planDataPlane } from './data-plane-plan.ts';
import { serviceRegistry } from './service-registry.ts';
import { syncVips } from './vip-addresses.ts';

const RETRY_MS = 2000;

/**
 * The host's IPv4 addresses, for ingress ports: all but those on this cluster's own bridges
 * (gateways and VIPs), which are told apart by name, not by address, so a host address that
 * happens to look like a Skiff one still serves (an overlap with the pool is the agent's to report).
 */
function hostAddresses(clusterId: string): string[] {
  const addresses = Object.entries(networkInterfaces())
    .filter(([name]) => !isOwnBridge(clusterId, name))
    .flatMap(([, list]) => list ?? [])
    .filter((a) => a.family === 'IPv4')
    .map((a) => a.address);
  return [...new Set(addresses)].sort();
}

export interface DataPlaneOptions {
  readonly engine: ContainerEngine;
  readonly clusterId: string;
  /** The cluster's address pool (from the server's welcome). */
  readonly pool: AddressPool;
  readonly nodeId: string;
  readonly log: (message: string) => void;
  /** A new problem the operator should see (an event); the same problem is reported once. */
  readonly onProblem: (message: string) => void;
}

export class DataPlane {
  readonly #options: DataPlaneOptions;
  readonly #proxy = new ServiceProxy();
  #dns: DnsServer | undefined;
  #services: readonly ServiceEndpoints[] = [];
  #queue: Promise<void> = Promise.resolve();
  #retry: NodeJS.Timeout | undefined;
  readonly #bridges = new Set<string>();
  #lastSkipped = '';
  #lastProblem = '';
  #registry: ServiceRegistry | undefined;
  #stopped = false;

  constructor(options: DataPlaneOptions) {
    this.#options = options;
  }

  /** Takes the latest endpoints; the apply runs after any in progress. */
  update(services: readonly ServiceEndpoints[]): void {
    this.#services = services;
    this.#schedule();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retry);
    await this.#queue;
    await this.#proxy.stop();
    await this.#dns?.stop();
  }

  #schedule(): void {
    clearTimeout(this.#retry);
    this.#queue = this.#queue
      .then(() => this.#apply())
      .then(() => {
        this.#lastProblem = '';
      })
      .catch((error: unknown) => {
        const problem = error instanceof Error ? error.message : String(error);
        this.#options.log(`data plane: ${problem}; retrying`);
        if (problem !== this.#lastProblem) this.#options.onProblem(`networking: ${problem}`);
        this.#lastProblem = problem;
        if (!this.#stopped) this.#retry = setTimeout(() => this.#schedule(), RETRY_MS);
      });
  }

  async #apply(): Promise<void> {
    if (this.#stopped) return;
    const { engine, clusterId, pool, nodeId, log } = this.#options;
    const services = this.#services;
    const plan = planDataPlane(services, nodeId, hostAddresses(clusterId), { clusterId, pool });
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

    const dns = await this.#dnsServer(services);
    const wanted = plan.dns.map((d) => `${d.address}:${d.port}`);
    for (const listener of dns.listeners) {
      if (!wanted.includes(`${listener.address}:${listener.port}`)) await dns.removeListener(listener);
    }
    for (const endpoint of plan.dns) await dns.addListener(endpoint);

    const routes: ProxyRoute[] = plan.routes.map((route) => {
      const network = route.network;
      return {
        key: route.key,
        mode: route.mode,
        listen: route.listen,
        backends: route.backends,
        strategy: route.strategy,
        ...(network === null ? {} : { allow: (client: string) => inNetwork(pool, client, network) }),
      };
    });
    await this.#proxy.setRoutes(routes);
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
