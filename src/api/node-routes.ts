/**
 * Node routes: list nodes, cordon/uncordon/drain them, set operator labels, forget a node that is
 * gone for good. Every change is an event and is followed by a controller pass.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import type { NodeAvailability } from '../model/node.ts';
import { nodeLabelsSchema } from '../model/node.ts';
import type { NodeView } from '../model/views.ts';
import { allocationOf } from '../server/allocation.ts';
import type { NodeSession } from '../server/cluster.ts';
import { nodeView, refusedNodeView } from '../server/views.ts';
import type { ApiDeps } from './deps.ts';
import { HttpError, NotFoundError, ValidationError } from './errors.ts';
import { readJson } from './service-routes.ts';

const labelsBodySchema = z.strictObject({ labels: nodeLabelsSchema });

const AVAILABILITY_ACTIONS: Record<string, { availability: NodeAvailability; verb: string }> = {
  cordon: { availability: 'cordoned', verb: 'cordoned: no new replicas are placed on it' },
  uncordon: { availability: 'active', verb: 'uncordoned' },
  drain: { availability: 'draining', verb: 'draining: its replicas move to other nodes' },
};

export function nodeRoutes(deps: ApiDeps): Hono {
  const { store, cluster, controller, events, now } = deps;
  const app = new Hono();

  const view = (node: NodeSession): NodeView => {
    const tasks = store.listTasks();
    return nodeView(
      node,
      allocationOf(node.id, tasks, (t) => controller.specOf(t.service, t.revision)),
      cluster.refusalOf(node.id),
    );
  };
  const find = (id: string): NodeSession => {
    const node = cluster.get(id);
    if (!node) throw new NotFoundError(`node ${id}`);
    return node;
  };
  const record = (id: string, message: string) =>
    events.append({ type: 'node', service: null, container: null, node: id, message }, now());

  app.get('/nodes', (c) =>
    c.json([...cluster.list().map(view), ...cluster.refusedStrangers().map(refusedNodeView)]),
  );
  app.get('/nodes/:id', (c) => c.json(view(find(c.req.param('id')))));

  for (const [name, action] of Object.entries(AVAILABILITY_ACTIONS)) {
    app.post(`/nodes/:id/${name}`, (c) => {
      const id = c.req.param('id');
      const node = find(id);
      if (node.availability !== action.availability) {
        cluster.setAvailability(id, action.availability);
        record(id, `Node ${id} ${action.verb}`);
      }
      controller.sync();
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
    controller.sync();
    return c.json(view(node));
  });

  app.delete('/nodes/:id', (c) => {
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
    controller.sync();
    return c.json({ deleted: id });
  });

  return app;
}
