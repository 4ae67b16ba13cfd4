/**
 * What one host's data plane should look like, from every service's serving replicas: the
 * networks to have, the service VIPs on their bridges, where DNS listens, and the proxy routes
 * (a VIP:port per service, network and port; plus every ingress-published port on all
 * addresses). Pure. Local replicas are reached directly on their container address, remote ones
 * through their node's address and published port.
 */
import type { ClusterAddressing } from '../../model/addressing.ts';
import { bridgeName, networkAddressing, serviceVip } from '../../model/addressing.ts';
import type { NetworkRef, ServiceEndpoints } from '../../protocol/messages.ts';
import type { Backend, Strategy } from '../proxy/balancer.ts';
import type { ProxyMode } from '../proxy/proxy-route.ts';

export interface PlannedRoute {
  readonly key: string;
  readonly mode: ProxyMode;
  readonly strategy: Strategy;
  readonly listen: readonly { host: string; port: number }[];
  readonly backends: readonly Backend[];
  /** Only clients of this network may connect; null for ingress (anyone who reaches the node). */
  readonly network: number | null;
}

export interface DataPlanePlan {
  readonly networks: readonly NetworkRef[];
  readonly vips: readonly { readonly bridge: string; readonly address: string }[];
  readonly dns: readonly { readonly address: string; readonly port: number }[];
  readonly routes: readonly PlannedRoute[];
  /** Routes left out, and why (e.g. two services publishing one ingress port). */
  readonly skipped: readonly string[];
}

export const DNS_PORT = 53;

/**
 * `hostAddresses` are where ingress ports listen: the host's own IPv4 addresses. Not 0.0.0.0: a
 * wildcard bind would collide with a VIP bound on the same port (`-p 8080:8080`). `cluster` names
 * the bridges and holds the pool the addresses come from.
 */
export function planDataPlane(
  services: readonly ServiceEndpoints[],
  nodeId: string,
  hostAddresses: readonly string[],
  cluster: ClusterAddressing,
): DataPlanePlan {
  const { pool } = cluster;
  const networks = new Map<string, NetworkRef>();
  const vips: { bridge: string; address: string }[] = [];
  const routes: PlannedRoute[] = [];
  const skipped: string[] = [];
  const ingressTaken = new Map<number, string>();

  for (const service of [...services].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    for (const network of service.networks) {
      networks.set(network.name, network);
      vips.push({
        bridge: bridgeName(cluster.clusterId, network.index),
        address: serviceVip(pool, network.index, service.vip_index),
      });
    }
    for (const port of service.ports) {
      if (port.protocol !== 'tcp') {
        skipped.push(`${service.name}:${port.container_port}/udp: the proxy balances tcp only`);
        continue;
      }
      const backends = backendsFor(service, port.container_port, nodeId);
      for (const network of service.networks) {
        routes.push({
          key: `${service.name}@${network.name}:${port.container_port}`,
          mode: port.app_protocol,
          strategy: port.balance ?? 'round-robin',
          listen: [{ host: serviceVip(pool, network.index, service.vip_index), port: port.container_port }],
          backends,
          network: network.index,
        });
      }
      if (port.mode !== 'ingress' || port.host_port === undefined) continue;
      const owner = ingressTaken.get(port.host_port);
      if (owner !== undefined) {
        skipped.push(`${service.name}: ingress port ${port.host_port} is already published by ${owner}`);
        continue;
      }
      ingressTaken.set(port.host_port, service.name);
      routes.push({
        key: `${service.name}:ingress:${port.host_port}`,
        mode: port.app_protocol,
        strategy: port.balance ?? 'round-robin',
        listen: hostAddresses.map((host) => ({ host, port: port.host_port as number })),
        backends,
        network: null,
      });
    }
  }
  const networkList = [...networks.values()].sort((a, b) => a.index - b.index);
  return {
    networks: networkList,
    vips,
    dns: networkList.map((n) => ({ address: networkAddressing(pool, n.index).gateway, port: DNS_PORT })),
    routes,
    skipped,
  };
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
