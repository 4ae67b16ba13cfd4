/**
 * Resource usage: `GET /stats` (every replica and node with fresh stats) and
 * `GET /services/{name}/stats` (one service's replicas), from the server's in-memory window
 * (src/stats). With `follow=true` the answer is NDJSON: the current figures at once, then a new
 * line whenever agents have sent more, at most one a second, at the reader's pace (follow-stream.ts).
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import { stream } from 'hono/streaming';
import { isoTimeOrNull } from '../model/bounds.ts';
import type { ClusterStats, ServiceStats } from '../stats/stats-schema.ts';
import { latestNodeStats, latestReplicaStats } from '../stats/stats-view.ts';
import type { StatsWindow } from '../stats/stats-window.ts';
import type { ApiDeps } from './deps.ts';
import { NotFoundError } from './errors.ts';
import { FollowStream } from './follow-stream.ts';
import { parseFlag } from './query.ts';

/** Agents' messages arrive one node at a time: a follower gets them gathered, at most this often. */
const FOLLOW_COALESCE_MS = 1000;

export function statsRoutes(deps: ApiDeps): Hono {
  const { store, now } = deps;
  const window = deps.stats;
  const app = new Hono();

  const clusterStats = (): ClusterStats => ({
    at: isoTimeOrNull(now()) ?? '',
    replicas: window ? latestReplicaStats(window, now()) : [],
    nodes: window ? latestNodeStats(window, now()) : [],
  });
  const serviceStats = (name: string): ServiceStats => ({
    at: isoTimeOrNull(now()) ?? '',
    service: name,
    replicas: window ? latestReplicaStats(window, now(), name) : [],
  });

  app.get('/stats', (c) => {
    if (!parseFlag('follow', c.req.query('follow'))) return c.json(clusterStats());
    return follow(c, window, clusterStats);
  });

  app.get('/services/:name/stats', (c) => {
    const name = c.req.param('name');
    if (!store.getService(name)) throw new NotFoundError(`service ${name}`);
    if (!parseFlag('follow', c.req.query('follow'))) return c.json(serviceStats(name));
    // A deleted service's stream ends with its next line.
    return follow(
      c,
      window,
      () => serviceStats(name),
      () => store.getService(name) !== undefined,
    );
  });

  return app;
}

function follow(
  c: Context,
  window: StatsWindow | undefined,
  snapshot: () => unknown,
  stillThere: () => boolean = () => true,
) {
  c.header('Content-Type', 'application/x-ndjson');
  return stream(c, async (out) => {
    const line = () => `${JSON.stringify(snapshot())}\n`;
    await new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      let unsubscribe: () => void = () => {};
      const finish = () => {
        clearTimeout(timer);
        unsubscribe();
        paced.stop();
        resolve();
      };
      const paced = new FollowStream(out, {
        finalLine: (reason) => `${JSON.stringify({ error: `stats stream ended: ${reason}` })}\n`,
        onCutOff: finish,
      });
      paced.write(line());
      unsubscribe =
        window?.subscribe(() => {
          timer ??= setTimeout(() => {
            timer = undefined;
            if (!stillThere()) {
              void out.close();
              finish();
              return;
            }
            paced.write(line());
          }, FOLLOW_COALESCE_MS);
        }) ?? (() => {});
      out.onAbort(finish);
    });
  });
}
