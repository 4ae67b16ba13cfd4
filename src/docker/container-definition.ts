/**
 * Turns a task into the Docker create body: identity labels (the agent's source of truth),
 * resource limits, ports, env and command. Pure, so what the engine is asked for is testable.
 */

import type { ClusterAddressing } from '../model/addressing.ts';
import { bridgeName, dockerNetworkName, networkAddressing } from '../model/addressing.ts';
import { runtimeCreateFields } from '../model/container-runtime.ts';
import { parseDurationMs } from '../model/duration.ts';
import { containerName, slotName } from '../model/names.ts';
import type { ServiceSpec } from '../model/service-spec.ts';
import { bindsHostPort } from '../model/service-spec.ts';
import { replicaVolumes, volumeMounts } from '../model/volume-spec.ts';
import type { NetworkRef, TaskSpec } from '../protocol/messages.ts';
import type { ContainerDefinition, NetworkDefinition } from './container-engine.ts';
import { LABELS } from './container-engine.ts';

/** The most `EXPOSE` ports of an image that are published for other nodes to reach. */
export const MAX_IMAGE_PORTS = 32;

/** A Skiff network on this host: named after the cluster, laid out in its pool. */
export function networkDefinition(network: NetworkRef, cluster: ClusterAddressing): NetworkDefinition {
  return {
    name: dockerNetworkName(cluster.clusterId, network.name),
    bridge: bridgeName(cluster.clusterId, network.index),
    ...networkAddressing(cluster.pool, network.index),
    clusterId: cluster.clusterId,
  };
}

/** `attempt` counts restarts of the task, so each replacement gets a name of its own. */
export function containerDefinition(
  task: TaskSpec,
  cluster: ClusterAddressing,
  attempt = 0,
  /** Secret and config files, `HOST:TARGET:ro` (the agent writes them: secret-files.ts). */
  binds: readonly string[] = [],
  /** The node's cluster address: engine-chosen ports are published there only (agent/publish-address.ts). */
  publishAddress?: string,
  /** The image's `EXPOSE` ports (`80/tcp`): published like the spec's own, for other nodes' VIP rules. */
  imagePorts: readonly string[] = [],
): ContainerDefinition {
  const { spec } = task;
  const { clusterId } = cluster;
  const networks = task.networks.map((n) => networkDefinition(n, cluster));
  const primary = networks[0];
  if (!primary) throw new RangeError(`task ${task.task_id} has no network`);
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp?: string; HostPort: string }[]> = {};
  for (const port of spec.ports) {
    const key = `${port.container_port}/${port.protocol}`;
    exposed[key] = {};
    // An empty HostPort asks the engine for a free one. Ingress ports belong to every node's
    // proxy, which reaches the replica through this dynamic port; only host mode binds host_port.
    // The dynamic port is for other nodes: on the cluster address only, never 0.0.0.0, where a
    // container of another network would reach it through its gateway. A host-mode host_port is
    // the user's, published on every address as the spec says.
    if (bindsHostPort(port)) bindings[key] = [{ HostPort: String(port.host_port) }];
    else bindings[key] = [{ ...(publishAddress ? { HostIp: publishAddress } : {}), HostPort: '' }];
  }
  // Each published port is a binding (and a proxy process) on the engine: an image that exposes
  // a range gets its first few published, not thousands.
  for (const key of imagePorts.slice(0, MAX_IMAGE_PORTS)) {
    const match = /^(\d{1,5})\/(tcp|udp)$/.exec(key);
    if (!match || key in exposed || Number(match[1]) > 65535) continue;
    exposed[key] = {};
    bindings[key] = [{ ...(publishAddress ? { HostIp: publishAddress } : {}), HostPort: '' }];
  }
  const env = {
    ...spec.env,
    SKIFF_SERVICE: task.service,
    SKIFF_SLOT: slotName(task.service, task.slot),
    SKIFF_TASK_ID: task.task_id,
  };
  const hostConfig: Record<string, unknown> = {
    PortBindings: bindings,
    NetworkMode: primary.name,
    // The agent's DNS on the network's gateway answers service names; Docker's embedded resolver
    // (which answers replica aliases) forwards everything else to it.
    Dns: [primary.gateway],
    DnsSearch: ['skiff'],
    // Skiff restarts replicas itself (fresh container, backoff, events); the engine must not.
    RestartPolicy: { Name: 'no' },
    LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
  };
  if (spec.resources.memory_mb !== undefined) {
    hostConfig.Memory = spec.resources.memory_mb * 1024 * 1024;
    // No swap beyond the limit, so the limit means what it says.
    hostConfig.MemorySwap = spec.resources.memory_mb * 1024 * 1024;
  }
  // Docker's init (tini from Debian's docker.io) as PID 1 forwards the stop signal to the image's
  // process, which as PID 1 itself would ignore any signal it has no handler for.
  if (spec.init === true) hostConfig.Init = true;
  if (spec.resources.cpus !== undefined) hostConfig.NanoCpus = Math.round(spec.resources.cpus * 1e9);
  if (spec.resources.cpu_shares !== undefined) hostConfig.CpuShares = spec.resources.cpu_shares;
  Object.assign(hostConfig, privilegesHostConfig(spec));
  const runtime = runtimeCreateFields(spec);
  Object.assign(hostConfig, runtime.hostConfig);
  if (binds.length > 0) hostConfig.Binds = [...binds];
  const mounts = volumeMounts(spec, task.slot);
  if (mounts.length > 0) hostConfig.Mounts = mounts;
  const named = replicaVolumes(spec, task.slot);
  const hostNetwork = spec.network_mode === 'host';
  if (hostNetwork) {
    // The host's own network: no Skiff network, resolver or published ports (it binds them itself).
    hostConfig.NetworkMode = 'host';
    delete hostConfig.Dns;
    delete hostConfig.DnsSearch;
    delete hostConfig.PortBindings;
  }
  const body: Record<string, unknown> = {
    Image: spec.image,
    Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
    Labels: {
      ...spec.labels,
      [LABELS.cluster]: clusterId,
      [LABELS.service]: task.service,
      [LABELS.task]: task.task_id,
      [LABELS.slot]: String(task.slot),
      [LABELS.revision]: String(task.revision),
      ...(named.length > 0
        ? { [LABELS.volumes]: named.map((v) => (v.shared ? `${v.name}:shared` : v.name)).join(',') }
        : {}),
    },
    ...(hostNetwork ? {} : { Hostname: slotName(task.service, task.slot), ExposedPorts: exposed }),
    StopTimeout: Math.ceil((parseDurationMs(spec.stop_grace_period) ?? 10_000) / 1000),
    HostConfig: hostConfig,
  };
  Object.assign(body, runtime.body);
  if (spec.command) body.Cmd = spec.command;
  if (spec.stop_signal) body.StopSignal = spec.stop_signal;
  if (spec.user !== undefined) body.User = spec.user;
  const aliases = hostNetwork ? [] : [slotName(task.service, task.slot)];
  if (!hostNetwork) body.NetworkingConfig = { EndpointsConfig: { [primary.name]: { Aliases: aliases } } };
  return {
    name: containerName(task.service, task.slot, task.task_id, attempt),
    image: spec.image,
    body,
    networks: hostNetwork ? [] : networks,
    aliases,
  };
}

/** The spec's privilege block as HostConfig fields; only the ones set, so a plain spec asks for nothing. */
export function privilegesHostConfig(spec: ServiceSpec): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  if (spec.privileged !== undefined) config.Privileged = spec.privileged;
  if (spec.cap_add !== undefined) config.CapAdd = spec.cap_add;
  if (spec.cap_drop !== undefined) config.CapDrop = spec.cap_drop;
  if (spec.read_only !== undefined) config.ReadonlyRootfs = spec.read_only;
  if (spec.pid_mode !== undefined) config.PidMode = spec.pid_mode;
  if (spec.ipc_mode !== undefined) config.IpcMode = spec.ipc_mode;
  if (spec.uts_mode !== undefined) config.UTSMode = spec.uts_mode;
  if (spec.userns_mode !== undefined) config.UsernsMode = spec.userns_mode;
  if (spec.sysctls !== undefined) config.Sysctls = spec.sysctls;
  if (spec.devices !== undefined) {
    config.Devices = spec.devices.map((device) => {
      // HOST[:CONTAINER][:PERMISSIONS]: a second part that is not a path is the permissions.
      const [host = device, ...rest] = device.split(':');
      const container = rest[0]?.startsWith('/') ? rest.shift() : host;
      const permissions = rest[0] ?? 'rwm';
      return { PathOnHost: host, PathInContainer: container, CgroupPermissions: permissions };
    });
  }
  const securityOpt: string[] = [];
  if (spec.seccomp === 'unconfined') securityOpt.push('seccomp=unconfined');
  if (spec.apparmor === 'unconfined') securityOpt.push('apparmor=unconfined');
  if (securityOpt.length > 0) config.SecurityOpt = securityOpt;
  return config;
}
