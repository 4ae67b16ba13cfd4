/**
 * Image routes: `GET /images` (every node's images, as their agents last reported them; `?node=`
 * for one) and `POST /images/prune` (the agents remove the unused images Skiff pulled, now; one
 * node with `{"node": N}`, else every connected node, in parallel). Both live in the leader's
 * memory (forward-decision.ts sends them there).
 */
import { Hono } from 'hono';
import { isoTimeOrNull } from '../model/bounds.ts';
import type { ImagePruneView, ImageView } from '../model/image-view.ts';
import { imagePruneRequestSchema } from '../model/image-view.ts';
import type { ReportedImage } from '../protocol/images-message.ts';
import type { ApiDeps } from './deps.ts';
import { NotFoundError, ValidationError } from './errors.ts';
import { readJson } from './service-routes.ts';

/** One row per repository:tag of an image (one for an untagged image). */
export function imageRows(node: string, image: ReportedImage): ImageView[] {
  const digest = image.repo_digests[0]?.split('@')[1] ?? null;
  const base = {
    node,
    id: image.id,
    digest,
    size_bytes: image.size_bytes,
    in_use_by: image.in_use_by,
    in_use_count: image.in_use_count,
    pulled_by_skiff: image.pulled_by_skiff,
    last_used_at: isoTimeOrNull(image.last_used_at),
  };
  if (image.repo_tags.length === 0) {
    const repository = image.repo_digests[0]?.split('@')[0] ?? null;
    return [{ ...base, repository, tag: null }];
  }
  return image.repo_tags.map((reference) => {
    const colon = reference.lastIndexOf(':');
    const slash = reference.lastIndexOf('/');
    const tagged = colon > slash;
    return {
      ...base,
      repository: tagged ? reference.slice(0, colon) : reference,
      tag: tagged ? reference.slice(colon + 1) : null,
    };
  });
}

export function imageRoutes(deps: ApiDeps): Hono {
  const { cluster, events, now } = deps;
  const app = new Hono();

  app.get('/images', (c) => {
    const only = c.req.query('node');
    if (only !== undefined && !cluster.get(only)) throw new NotFoundError(`node ${only}`);
    const rows: ImageView[] = [];
    for (const node of deps.images?.list() ?? []) {
      if (only !== undefined && node.nodeId !== only) continue;
      for (const image of node.images) rows.push(...imageRows(node.nodeId, image));
    }
    rows.sort(
      (a, b) =>
        a.node.localeCompare(b.node) ||
        (a.repository ?? '\uffff').localeCompare(b.repository ?? '\uffff') ||
        (a.tag ?? '\uffff').localeCompare(b.tag ?? '\uffff') ||
        a.id.localeCompare(b.id),
    );
    return c.json(rows);
  });

  app.post('/images/prune', async (c) => {
    // No body is every node, as `{}` is.
    const body = c.req.header('content-length') === '0' || !c.req.raw.body ? {} : await readJson(c.req.raw);
    const parsed = imagePruneRequestSchema.safeParse(body);
    if (!parsed.success) throw new ValidationError('prune', parsed.error);
    const { node } = parsed.data;
    if (node !== undefined && !cluster.get(node)) throw new NotFoundError(`node ${node}`);
    const targets =
      node !== undefined
        ? [node]
        : cluster
            .list()
            .filter((n) => n.link !== undefined)
            .map((n) => n.id);
    const broker = deps.imagePrunes;
    const results = await Promise.all(
      targets.map((id) =>
        broker
          ? broker.prune(id)
          : Promise.resolve({ node: id, removed: [], error: 'this server does not prune images' }),
      ),
    );
    const view: ImagePruneView = {
      nodes: results.map((result) => ({
        node: result.node,
        removed: [...result.removed],
        reclaimed_bytes: result.removed.reduce((sum, image) => sum + image.size_bytes, 0),
        error: result.error,
      })),
      reclaimed_bytes: 0,
    };
    view.reclaimed_bytes = view.nodes.reduce((sum, n) => sum + n.reclaimed_bytes, 0);
    const removed = view.nodes.reduce((sum, n) => sum + n.removed.length, 0);
    events.append(
      {
        type: 'image',
        service: null,
        container: null,
        node: node ?? null,
        message: `Image prune${node ? ` on ${node}` : ''}: ${removed} image${removed === 1 ? '' : 's'} removed, ${(view.reclaimed_bytes / 1e6).toFixed(1)} MB reclaimed`,
      },
      now(),
    );
    return c.json(view);
  });

  return app;
}
