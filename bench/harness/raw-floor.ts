/**
 * The raw floor of the benches on the local engine: what the engine alone needs to create and
 * start the containers Skiff would, with Skiff's own create body, on the floor's own user-defined
 * bridge (the same kind of network Skiff's replicas join) and under the floor's own cluster label,
 * so the floor never touches the measured cluster.
 */
import { randomUUID } from 'node:crypto';
import type Docker from 'dockerode';
import { containerDefinition } from '../../src/docker/container-definition.ts';
import type { ContainerDefinition } from '../../src/docker/container-engine.ts';
import { LABELS } from '../../src/docker/container-engine.ts';
import { DEFAULT_POOL } from '../../src/model/addressing.ts';
import type { ServiceSpec } from '../../src/model/service-spec.ts';
import type { TaskSpec } from '../../src/protocol/messages.ts';

/** The raw floor's own user-defined bridge: the same kind of network Skiff's replicas join. */
export function floorNetworkName(rawClusterId: string): string {
  return `${rawClusterId}-net`;
}

export async function ensureFloorNetwork(docker: Docker, rawClusterId: string): Promise<void> {
  // Outside Skiff's default pool 10.240.0.0/12, so it never collides with the measured cluster's
  // networks; the next /24 down when one is taken (the engine can keep a removed run's network
  // with a stale endpoint, which nothing short of a daemon restart clears).
  for (let third = 251; ; third--) {
    try {
      await docker.createNetwork({
        Name: floorNetworkName(rawClusterId),
        Driver: 'bridge',
        IPAM: { Config: [{ Subnet: `192.168.${third}.0/24` }] },
        Labels: { [LABELS.cluster]: rawClusterId },
      });
      return;
    } catch (error) {
      const overlaps = String((error as { message?: unknown }).message).includes('overlaps');
      if (!overlaps || third <= 240) throw error;
    }
  }
}

/**
 * A replica's create body for the raw floor: what Skiff would create, on the floor's own bridge
 * (a Skiff network carries the measured cluster's label, and the floor must not touch it).
 */
export function rawDefinition(
  service: string,
  slot: number,
  spec: ServiceSpec,
  rawClusterId: string,
  /** The image's `EXPOSE` ports, published as Skiff publishes them (each a docker-proxy and NAT rules to tear down). */
  imagePorts: readonly string[] = [],
): ContainerDefinition {
  const task: TaskSpec = {
    task_id: randomUUID().replaceAll('-', ''),
    service,
    slot,
    revision: 1,
    spec,
    networks: [{ name: 'default', index: 0 }],
  };
  const definition = containerDefinition(
    task,
    { clusterId: rawClusterId, pool: DEFAULT_POOL },
    0,
    [],
    undefined,
    imagePorts,
  );
  const { NetworkingConfig: _networking, ...body } = definition.body;
  const hostConfig: Record<string, unknown> = {
    ...(body.HostConfig as Record<string, unknown>),
    NetworkMode: floorNetworkName(rawClusterId),
  };
  delete hostConfig.Dns;
  delete hostConfig.DnsSearch;
  return { ...definition, body: { ...body, HostConfig: hostConfig }, networks: [] };
}

/** Creates a container from a raw definition (not started). */
export async function createRaw(docker: Docker, definition: ContainerDefinition): Promise<Docker.Container> {
  return docker.createContainer({
    ...definition.body,
    name: definition.name,
  } as Docker.ContainerCreateOptions);
}
