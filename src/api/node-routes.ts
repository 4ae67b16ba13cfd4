/**
 * Node routes: list nodes, cordon/uncordon/drain them, set operator labels, forget a node that is
 * gone for good. Every change is an event; the route waits for the controller pass that includes it.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import type { NodeAvailability } from '../model/node.ts';
import { nodeLabelsSchema } from '../model/node.ts';
import type { TaskRecord } from '../model/task.ts';
import type { NodeView } from '../model/views.ts';
import type { NodeAllocation } from '../server/allocation.ts';
import { allocationOf, allocationsByNode } from '../server/allocation.ts';
import type { NodeSession } from '../server/cluster.ts';
import type { ApiDeps } from './deps.ts';
import { HttpError, NotFoundError, ValidationError } from './errors.ts';
import { page, pageRequest } from './paging.ts';
import { readJson } from './service-routes.ts';
import { nodeView, refusedNodeView } from './views.ts';

const labelsBodySchema = z.strictObject({ labels: nodeLabelsSchema });

const AVAILABILITY_ACTIONS: Record<string, { availability: NodeAvailability; verb: string }> = {
  cordon: { availability: 'cordoned', verb: 'cordoned: no new replicas are placed on it' },
  uncordon: { availability: 'active', verb: 'uncordoned' },
  drain: { availability: 'draining', verb: 'draining: its replicas move to other nodes' },
};

export function nodeRoutes(deps: ApiDeps): Hono {
  const { store, cluster, controller, events, now } = deps;
  const app = new Hono();

  const specOf = (t: TaskRecord) => controller.specOf(t.service, t.revision);
  const view = (node: NodeSession, allocation?: NodeAllocation): NodeView =>
    nodeView(
      node,
      allocation ?? allocationOf(node.id, store.tasksOnNode(node.id), specOf),
      cluster.refusalOf(node.id),
    );
  const find = (id: string): NodeSession => {
    const node = cluster.get(id);
    if (!node) throw new NotFoundError(`node ${id}`);
    return node;
  };
  const record = (id: string, message: string) =>
    events.append({ type: 'node', service: null, container: null, node: id, message }, now());

  app.get('/nodes', (c) => {
    const paged = pageRequest(c).limit !== undefined || pageRequest(c).after !== undefined;
    const entries = [
      ...cluster.list().map((node) => ({ id: node.id, node })),
      ...cluster.refusedStrangers().map((refusal) => ({ id: refusal.registration.name, refusal })),
    ];
    // Pages go by id; an unpaged answer keeps its order (nodes, then refused strangers).
    if (paged) entries.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const shown = page(c, entries, (e) => e.id);
    // A page's nodes from the store's index by node; the whole list in one walk over the tasks,
    // not one walk per node (a page of 100 of 1,000 nodes walked all 10,000 tasks: 10 ms).
    const held = paged ? undefined : allocationsByNode(store.taskSnapshot(), specOf);
    return c.json(
      shown.map((e) =>
        'node' in e
          ? view(e.node, held ? (held.get(e.id) ?? allocationOf(e.id, [], specOf)) : undefined)
          : refusedNodeView(e.refusal),
      ),
    );
  });
  app.get('/nodes/:id', (c) => c.json(view(find(c.req.param('id')))));

  for (const [name, action] of Object.entries(AVAILABILITY_ACTIONS)) {
    app.post(`/nodes/:id/${name}`, async (c) => {
      const id = c.req.param('id');
      const node = find(id);
      if (node.availability !== action.availability) {
        cluster.setAvailability(id, action.availability);
        record(id, `Node ${id} ${action.verb}`);
      }
      await controller.settle();
      return c.json(view(node));
    });
  }

  app.put('/nodes/:id/labels', async (c) => {
    const id = c.req.param('id');
    const node = find(id);
    const parsed = labelsBodySchema.safeParse(await readJson(c.req.raw));
    if (!parsed.success) throw new ValidationError('labels', parsed.error);
    cluster.setLabels(id, parsed.data.labels);
    const text = Object.entries(parsed.data.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    record(id, `Node ${id} labels set to ${text || '(none)'}`);
    await controller.settle();
    return c.json(view(node));
  });

  app.delete('/nodes/:id', async (c) => {
    const id = c.req.param('id');
    // A refused agent that never joined is only a note: forgetting it changes nothing else.
    if (!cluster.get(id) && cluster.refusalOf(id) && cluster.remove(id)) {
      deps.onNodeRemoved?.(id);
      return c.json({ deleted: id });
    }
    const node = find(id);
    if (node.link) throw new HttpError(409, `node ${id} is connected: stop its agent first`);
    cluster.remove(id);
    deps.onNodeRemoved?.(id);
    record(id, `Node ${id} removed from the cluster (its certificate revoked)`);
    await controller.settle();
    return c.json({ deleted: id });
  });

  return app;
}
