/**
 * The edge between the server's live objects and the pure families: one read of the store's
 * services and tasks (served from memory) and of the node sessions, per scrape.
 */
import type { Cluster } from '../server/cluster.ts';
import type { Store } from '../store/store.ts';
import type { ClusterState } from './cluster-families.ts';

export interface ClusterReaders {
  readonly store: Store;
  readonly cluster: Cluster;
  /** A revision's spec, cached (the controller's `specOf`). */
  readonly specOf: ClusterState['specOf'];
  readonly now: () => number;
}

export function readClusterState({ store, cluster, specOf, now }: ClusterReaders): ClusterState {
  return {
    services: store.listServices(),
    tasks: store.taskSnapshot(),
    nodes: cluster.list().map((node) => ({
      id: node.id,
      status: node.status,
      availability: node.availability,
      connected: node.link !== undefined,
      cpuMillicores: node.registration.cpu_millicores,
      memoryBytes: node.registration.memory_bytes,
      lastHeartbeat: node.lastHeartbeat,
    })),
    specOf,
    now: now(),
  };
}

/**
 * When each task was created, looked up once a pass needs it: most passes place nothing, and a
 * map of 10,000 tasks per pass would cost more than the pass.
 */
export function taskCreatedAt(store: Store): (taskId: string) => number | undefined {
  let byId: Map<string, number> | undefined;
  return (taskId) => {
    byId ??= new Map(store.taskSnapshot().map((t) => [t.id, t.createdAt]));
    return byId.get(taskId);
  };
}
