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

export async function removeCluster(clusterId: string): Promise<void> {
  for (const c of await containersOf(clusterId)) {
    await docker
      .getContainer(c.id)
      .remove({ force: true })
      .catch(() => {});
  }
}
