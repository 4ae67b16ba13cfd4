/**
 * Volume routes: where each volume is and who uses it (`GET /api/volumes`, `/api/volumes/:name`),
 * removing one (`DELETE`, once no replica meant to run mounts it), and an operator's move
 * (`POST /api/volumes/:name/move`): the replica pinned to the volume starts on another node, with
 * an empty volume there (volumes are local to a node; nothing copies the data). Each change is an
 * event; the registry is server/volume-registry.ts.
 */
import { Hono } from 'hono';
import { slotName } from '../model/names.ts';
import { replicaVolumes } from '../model/volume-spec.ts';
import { volumeMoveRequestSchema } from '../model/volume-view.ts';
import { readVolumes, recordMove, requestRemoval } from '../server/volume-registry.ts';
import { parseBody } from './deploy-service.ts';
import type { ApiDeps } from './deps.ts';
import { HttpError, NotFoundError } from './errors.ts';
import { readJson } from './service-routes.ts';
import { volumeViews } from './volume-views.ts';

export function volumeRoutes(deps: ApiDeps): Hono {
  const { store, cluster, controller, events, now } = deps;
  const app = new Hono();

  const rows = () =>
    volumeViews(readVolumes(store), store.taskSnapshot(), (id) => cluster.get(id)?.status ?? null);
  /** Replicas meant to run that mount the volume, by slot name, with their node. */
  const users = (name: string) =>
    store
      .taskSnapshot()
      .filter((t) => t.desiredState === 'running')
      .filter((t) => {
        const spec = controller.specOf(t.service, t.revision);
        return spec !== undefined && replicaVolumes(spec, t.slot).some((v) => v.name === name);
      });
  const record = (message: string) =>
    events.append({ type: 'volume', service: null, container: null, node: null, message }, now());

  app.get('/volumes', (c) => c.json(rows()));

  app.get('/volumes/:name', (c) => {
    const name = c.req.param('name');
    const found = rows().filter((r) => r.name === name);
    if (found.length === 0) throw new NotFoundError(`volume ${name}`);
    return c.json(found);
  });

  app.delete('/volumes/:name', async (c) => {
    const name = c.req.param('name');
    const node = c.req.query('node') ?? null;
    const found = rows().filter((r) => r.name === name && (node === null || r.node === node));
    if (found.length === 0)
      throw new NotFoundError(node === null ? `volume ${name}` : `volume ${name} on ${node}`);
    // The copy a move left behind may go; the one a replica is meant to use may not.
    const moved = readVolumes(store).moves[name];
    const inUse = users(name);
    if (inUse.length > 0 && !(node !== null && moved !== undefined && moved !== node)) {
      const names = inUse.map((t) => slotName(t.service, t.slot)).join(', ');
      throw new HttpError(
        409,
        `volume ${name} is used by ${names}: remove or scale down its service first (skiff rm SERVICE --volumes removes a service with its volumes)`,
      );
    }
    const holders = requestRemoval(store, [name], node);
    const asked = sendRemovals(deps, holders, [name]);
    record(`Volume ${name} removal requested${node === null ? '' : ` on ${node}`}`);
    return c.json({ removing: name, nodes: asked });
  });

  app.post('/volumes/:name/move', async (c) => {
    const name = c.req.param('name');
    const { to } = parseBody(await readJson(c.req.raw), volumeMoveRequestSchema, 'volume move');
    const target = cluster.get(to);
    if (!target) throw new NotFoundError(`node ${to}`);
    const known = rows().some((r) => r.name === name) || users(name).length > 0;
    if (!known) throw new NotFoundError(`volume ${name}`);
    // A replica running with the volume on a node that serves stays put: drain that node (its
    // replica serves on until its successor runs where the volume is moved), or stop the service.
    const running = users(name).filter((t) => {
      if (t.nodeId === null || t.nodeId === to) return false;
      const node = cluster.get(t.nodeId);
      return node?.status === 'ready' && node.availability !== 'draining' && t.observed?.state === 'running';
    });
    if (running.length > 0) {
      const replica = running[0];
      throw new HttpError(
        409,
        `volume ${name} is in use by ${slotName(replica?.service ?? '', replica?.slot ?? 0)} on ready node ${replica?.nodeId}: drain that node first (its replica then waits for the volume), then move it`,
      );
    }
    const from = rows()
      .filter((r) => r.name === name && r.state !== 'moved')
      .map((r) => r.node);
    recordMove(store, name, to);
    record(
      `Volume ${name} moved to ${to}: its replica starts there with an empty volume${from.length > 0 ? ` (the data stays on ${from.join(', ')})` : ''}`,
    );
    await controller.settle();
    return c.json(rows().filter((r) => r.name === name));
  });

  return app;
}

/** Asks the connected nodes among `nodes` to remove the volumes; returns those asked. */
export function sendRemovals(deps: ApiDeps, nodes: readonly string[], names: readonly string[]): string[] {
  const asked: string[] = [];
  for (const id of nodes) {
    const link = deps.cluster.get(id)?.link;
    if (!link) continue;
    link.send({ type: 'volumes.remove', names: [...names] });
    asked.push(id);
  }
  return asked;
}
