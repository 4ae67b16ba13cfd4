/**
 * What one host's data plane should look like, from every service's serving replicas: the
 * networks to have, the service VIPs on their bridges, where DNS answers, the kernel's share
 * (netfilter DNAT of every `app_protocol: tcp` port straight to the replicas) and the proxy's
 * share (`app_protocol: http` ports, reached through a REDIRECT to a port of the proxy's own; and
 * published ports on loopback, which a DNAT cannot serve). Pure. Local replicas are reached
 * directly on their container address, remote ones through their node's address and published
 * port. Nothing here binds a VIP or a published port, so no host process can collide with it.
 */
import type { ClusterAddressing } from '../../model/addressing.ts';
import { bridgeName, networkAddressing, serviceVip } from '../../model/addressing.ts';
import type { NetworkRef, ServiceEndpoints } from '../../protocol/messages.ts';
import type { Backend, Strategy } from '../proxy/balancer.ts';
import type { ProxyMode } from '../proxy/proxy-route.ts';
import type { KernelEndpoint } from './netfilter-rules.ts';

/** Where the HTTP proxy listens for redirected connections: any free port, on every address. */
export const PROXY_LISTEN = { host: '0.0.0.0', port: 0 } as const;

export interface PlannedRoute {
  readonly key: string;
  readonly mode: ProxyMode;
  readonly strategy: Strategy;
  readonly listen: readonly { host: string; port: number }[];
  readonly backends: readonly Backend[];
  /** Only clients of this network may connect; null for ingress (anyone who reaches the node). */
  readonly network: number | null;
}

/** A port's connections go to replicas (kernel DNAT) or to the proxy route of that key (REDIRECT). */
export type PlannedTarget =
  | { readonly kind: 'endpoints'; readonly endpoints: readonly KernelEndpoint[] }
  | { readonly kind: 'proxy'; readonly routeKey: string };

export interface PlannedVip {
  readonly key: string;
  readonly vip: string;
  readonly port: number;
  readonly sourceCidr: string;
  readonly target: PlannedTarget;
}

export interface PlannedIngress {
  readonly key: string;
  readonly port: number;
  readonly target: PlannedTarget;
}

export interface DataPlanePlan {
  readonly networks: readonly NetworkRef[];
  readonly vips: readonly { readonly bridge: string; readonly address: string }[];
  /** Network gateways where DNS answers on port 53 (redirected to the DNS server's own port). */
  readonly dns: readonly string[];
  readonly kernel: { readonly vips: readonly PlannedVip[]; readonly ingress: readonly PlannedIngress[] };
  readonly routes: readonly PlannedRoute[];
  /** Published ports this plan claims, to check against the host's own listeners first. */
  readonly published: readonly number[];
  /** Every service's `host`-mode ports (bound by the engine on every address, open to anyone). */
  readonly hostModePorts: readonly { readonly port: number; readonly protocol: 'tcp' | 'udp' }[];
  /** Routes left out, and why (e.g. two services publishing one ingress port). */
  readonly skipped: readonly string[];
}

export interface PlanOptions {
  /** Published ports a host process holds, with a description of the holder: not claimed. */
  readonly refusedPorts?: ReadonlyMap<number, string>;
}

/** `cluster` names the bridges and holds the pool the addresses come from. */
export function planDataPlane(
  services: readonly ServiceEndpoints[],
  nodeId: string,
  cluster: ClusterAddressing,
  options: PlanOptions = {},
): DataPlanePlan {
  const { pool } = cluster;
  const refused = options.refusedPorts ?? new Map<number, string>();
  const networks = new Map<string, NetworkRef>();
  const vips: { bridge: string; address: string }[] = [];
  const kernelVips: PlannedVip[] = [];
  const kernelIngress: PlannedIngress[] = [];
  const routes: PlannedRoute[] = [];
  const published: number[] = [];
  const skipped: string[] = [];
  const ingressTaken = new Map<number, string>();
  const hostModePorts = new Map<string, { port: number; protocol: 'tcp' | 'udp' }>();

  for (const service of [...services].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    for (const network of service.networks) {
      networks.set(network.name, network);
      vips.push({
        bridge: bridgeName(cluster.clusterId, network.index),
        address: serviceVip(pool, network.index, service.vip_index),
      });
    }
    for (const port of service.ports) {
      if (port.mode === 'host' && port.host_port !== undefined) {
        const open = { port: port.host_port, protocol: port.protocol };
        hostModePorts.set(`${open.port}/${open.protocol}`, open);
      }
      if (port.protocol !== 'tcp') {
        skipped.push(`${service.name}:${port.container_port}/udp: only tcp is balanced`);
        continue;
      }
      const backends = backendsFor(service, port.container_port, nodeId);
      const strategy = port.balance ?? 'round-robin';
      for (const network of service.networks) {
        const key = `${service.name}@${network.name}:${port.container_port}`;
        const vip = serviceVip(pool, network.index, service.vip_index);
        const sourceCidr = networkAddressing(pool, network.index).subnet;
        if (port.app_protocol === 'http') {
          routes.push({
            key,
            mode: 'http',
            strategy,
            listen: [PROXY_LISTEN],
            backends,
            network: network.index,
          });
          kernelVips.push({
            key,
            vip,
            port: port.container_port,
            sourceCidr,
            target: { kind: 'proxy', routeKey: key },
          });
        } else {
          const target = {
            kind: 'endpoints' as const,
            endpoints: kernelEndpoints(backends, nodeId, service),
          };
          kernelVips.push({ key, vip, port: port.container_port, sourceCidr, target });
        }
      }
      if (port.mode !== 'ingress' || port.host_port === undefined) continue;
      const hostPort = port.host_port;
      const owner = ingressTaken.get(hostPort);
      if (owner !== undefined) {
        skipped.push(`${service.name}: ingress port ${hostPort} is already published by ${owner}`);
        continue;
      }
      ingressTaken.set(hostPort, service.name);
      published.push(hostPort);
      const holder = refused.get(hostPort);
      if (holder !== undefined) {
        skipped.push(`${service.name}: not publishing ${holder}`);
        continue;
      }
      const key = `${service.name}:ingress:${hostPort}`;
      const loopback = { host: '127.0.0.1', port: hostPort };
      if (port.app_protocol === 'http') {
        routes.push({
          key,
          mode: 'http',
          strategy,
          listen: [PROXY_LISTEN, loopback],
          backends,
          network: null,
        });
        kernelIngress.push({ key, port: hostPort, target: { kind: 'proxy', routeKey: key } });
      } else {
        // A DNAT cannot take loopback traffic off the host; the TCP proxy serves 127.0.0.1 only.
        routes.push({ key, mode: 'tcp', strategy, listen: [loopback], backends, network: null });
        const endpoints = kernelEndpoints(backends, nodeId, service);
        kernelIngress.push({ key, port: hostPort, target: { kind: 'endpoints', endpoints } });
      }
    }
  }
  const networkList = [...networks.values()].sort((a, b) => a.index - b.index);
  return {
    networks: networkList,
    vips,
    dns: networkList.map((n) => networkAddressing(pool, n.index).gateway),
    kernel: { vips: kernelVips, ingress: kernelIngress },
    routes,
    published,
    hostModePorts: [...hostModePorts.values()],
    skipped,
  };
}

/**
 * A loopback address (a node registered as 127.0.0.1 under `skiff up`, before its replica's
 * container address is known) cannot be a DNAT target: the kernel drops a forwarded packet to it.
 */
function kernelEndpoints(
  backends: readonly Backend[],
  nodeId: string,
  service: ServiceEndpoints,
): KernelEndpoint[] {
  const local = new Set(
    service.backends.filter((b) => b.node_id === nodeId && b.container_ip).map((b) => b.task_id),
  );
  return backends
    .filter((b) => !b.host.startsWith('127.'))
    .map((b) => ({ host: b.host, port: b.port, remote: !local.has(b.id) }));
}

function backendsFor(service: ServiceEndpoints, containerPort: number, nodeId: string): Backend[] {
  const backends: Backend[] = [];
  for (const backend of service.backends) {
    if (backend.node_id === nodeId && backend.container_ip) {
      backends.push({ id: backend.task_id, host: backend.container_ip, port: containerPort });
      continue;
    }
    const published = backend.ports.find((p) => p.container_port === containerPort && p.protocol === 'tcp');
    if (published) backends.push({ id: backend.task_id, host: backend.address, port: published.host_port });
  }
  return backends;
}
