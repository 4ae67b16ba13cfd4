/**
 * The hub's data, from the API's own deps: the same views `GET /api/services` and `GET /api/nodes`
 * answer (so a row from the stream and a row from REST are interchangeable in a client's cache),
 * the event log, and resource samples when the server has them.
 */
import type { TaskRecord } from '../../model/task.ts';
import { allocationOf, allocationsByNode } from '../../server/allocation.ts';
import type { ApiDeps } from '../deps.ts';
import { nodeView, refusedNodeView, serviceView } from '../views.ts';
import { latestSamples, latestUsage, subscribeNodeUsage, subscribeSamples } from './stats-samples.ts';
import type { StreamSource } from './stream-hub.ts';

export function streamSource(
  deps: Pick<ApiDeps, 'store' | 'cluster' | 'controller' | 'events' | 'stats'>,
): StreamSource {
  const { store, cluster, controller, events, stats } = deps;
  const specOf = (t: TaskRecord) => controller.specOf(t.service, t.revision);
  return {
    views() {
      const tasks = store.taskSnapshot();
      const byService = Map.groupBy(store.listTasks(), (t) => t.service);
      const services = store
        .listServices()
        .map((service) => serviceView(service, byService.get(service.spec.name) ?? []));
      const held = allocationsByNode(tasks, specOf);
      const nodes = [
        ...cluster
          .list()
          .map((node) =>
            nodeView(
              node,
              held.get(node.id) ?? allocationOf(node.id, [], specOf),
              cluster.refusalOf(node.id),
            ),
          ),
        ...cluster.refusedStrangers().map(refusedNodeView),
      ];
      return { services, nodes };
    },
    recentEvents: (limit) => store.listEvents({ limit }),
    subscribeEvents: (listener) => events.subscribe(listener),
    ...(stats && {
      subscribeStats: (listener) => subscribeSamples(stats, Date.now, listener),
      subscribeNodeUsage: (listener) => subscribeNodeUsage(stats, Date.now, listener),
      latestStats: () => latestSamples(stats, Date.now()),
      latestNodeUsage: () => latestUsage(stats, Date.now()),
    }),
  };
}
