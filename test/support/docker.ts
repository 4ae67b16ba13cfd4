/**
 * Direct Docker access for tests: what really runs, independent of what Skiff says.
 */
import Docker from 'dockerode';

export const docker = new Docker({ socketPath: '/var/run/docker.sock' });

export interface SeenContainer {
  readonly id: string;
  readonly name: string;
  readonly state: string;
  readonly task: string;
  readonly slot: number;
}

export async function containersOf(clusterId: string, service?: string): Promise<SeenContainer[]> {
  const labels = [`skiff.cluster=${clusterId}`];
  if (service) labels.push(`skiff.service=${service}`);
  const list = await docker.listContainers({ all: true, filters: { label: labels } });
  return list.map((c) => ({
    id: c.Id,
    name: (c.Names[0] ?? '').replace(/^\//, ''),
    state: c.State,
    task: c.Labels['skiff.task'] ?? '',
    slot: Number(c.Labels['skiff.slot']),
  }));
}

/** Removes a test cluster's containers, then its networks (which need their containers gone). */
export async function removeCluster(clusterId: string, engine: Docker = docker): Promise<void> {
  const label = { label: [`skiff.cluster=${clusterId}`] };
  for (const c of await engine.listContainers({ all: true, filters: label })) {
    await engine
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => {});
  }
  for (const n of await engine.listNetworks({ filters: label })) {
    await engine
      .getNetwork(n.Id)
      .remove()
      .catch(() => {});
  }
}
