/**
 * The volume rows the API shows, pure: the registry (where volumes are, moves, removals), the
 * tasks (which replica a task id is) and the nodes' statuses in, rows out in name and node order.
 */
import { slotName } from '../model/names.ts';
import type { TaskRecord } from '../model/task.ts';
import { replicaVolumes, type VolumeMount } from '../model/volume-spec.ts';
import type { VolumeView } from '../model/volume-view.ts';
import type { VolumeRegistryValue } from '../server/volume-registry.ts';

export function volumeViews(
  registry: VolumeRegistryValue,
  tasks: readonly TaskRecord[],
  nodeStatus: (id: string) => string | null,
): VolumeView[] {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const rows: VolumeView[] = [];
  const reported = new Set<string>();
  for (const [node, volumes] of Object.entries(registry.nodes)) {
    for (const volume of volumes) {
      reported.add(`${volume.name}\u0000${node}`);
      const moved = registry.moves[volume.name];
      const removing = registry.removals.some(
        (r) => r.name === volume.name && (r.node === null || r.node === node),
      );
      rows.push({
        name: volume.name,
        node,
        node_status: nodeStatus(node),
        service: volume.service === '' ? null : volume.service,
        slot: volume.slot,
        replica: volume.service !== '' && volume.slot !== null ? slotName(volume.service, volume.slot) : null,
        created_at: volume.created_at === null ? null : new Date(volume.created_at).toISOString(),
        used_by: volume.used_by.map((id) => {
          const task = byId.get(id);
          return { task_id: id, replica: task ? slotName(task.service, task.slot) : null };
        }),
        state: removing ? 'removing' : moved !== undefined && moved !== node ? 'stale' : 'present',
      });
    }
  }
  for (const [name, node] of Object.entries(registry.moves)) {
    if (reported.has(`${name}\u0000${node}`)) continue;
    const known = rows.find((r) => r.name === name);
    rows.push({
      name,
      node,
      node_status: nodeStatus(node),
      service: known?.service ?? null,
      slot: known?.slot ?? null,
      replica: known?.replica ?? null,
      created_at: null,
      used_by: [],
      state: 'moved',
    });
  }
  return rows.sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : a.node < b.node ? -1 : a.node > b.node ? 1 : 0,
  );
}

/**
 * The named volumes of a service: those its nodes report as made for it, and those its spec
 * names for its current slots (made but not reported yet). Shared names (no template) included.
 */
export function serviceVolumeNames(
  registry: VolumeRegistryValue,
  spec: {
    readonly name: string;
    readonly replicas: number;
    readonly volumes?: readonly VolumeMount[] | undefined;
  },
): string[] {
  const names = new Set<string>();
  for (const volumes of Object.values(registry.nodes))
    for (const volume of volumes) if (volume.service === spec.name) names.add(volume.name);
  for (let slot = 0; slot < spec.replicas; slot++)
    for (const volume of replicaVolumes(spec, slot)) names.add(volume.name);
  return [...names].sort();
}
