/**
 * Routes that can stream: `/events` (JSON array, or NDJSON with `follow=true`: the backlog, then
 * live events) and `/services/{name}/logs` (lines from every replica, merged in time order, as
 * `api-server-0 | text` or NDJSON `LogLine`s; `follow=true` follows the service until the client
 * leaves or the service is deleted: replicas placed or replaced later join the stream).
 */

import { Hono } from 'hono';
import { stream } from 'hono/streaming';
import { MAX_EPOCH_MS } from '../model/bounds.ts';
import type { SkiffEvent } from '../model/event.ts';
import { slotName } from '../model/names.ts';
import type { LogLine } from '../model/views.ts';
import { sortableLogTime } from '../server/log-follow-plan.ts';
import { ServiceLogFollower } from '../server/service-log-follower.ts';
import type { ApiDeps } from './deps.ts';
import { HttpError, NotFoundError } from './errors.ts';
import { FollowStream } from './follow-stream.ts';
import { linkNext } from './paging.ts';
import { parseCount, parseFlag, parseSince } from './query.ts';

/** How long a non-following log request waits for slow agents before answering with what it has. */
const LOG_COLLECT_TIMEOUT_MS = 10_000;

export function streamRoutes(deps: ApiDeps): Hono {
  const { store, events, logs, cluster, now } = deps;
  const app = new Hono();

  app.get('/events', (c) => {
    const sinceMs = parseSince(c.req.query('since'), now());
    const service = c.req.query('service') || undefined;
    const limit = parseCount('limit', c.req.query('limit'), 10_000) ?? 1000;
    const follow = parseFlag('follow', c.req.query('follow'));
    // `after` (an event id) pages forward through the log (paging.ts).
    const afterId = parseCount('after', c.req.query('after'), Number.MAX_SAFE_INTEGER);
    const backlog = store.listEvents({ afterId, sinceMs, service, limit });
    if (!follow) {
      const last = backlog.at(-1);
      if (afterId !== undefined && last !== undefined && backlog.length === limit)
        linkNext(c, limit, String(last.id));
      return c.json(backlog);
    }
    c.header('Content-Type', 'application/x-ndjson');
    return stream(c, async (out) => {
      const line = (event: SkiffEvent) => `${JSON.stringify(event)}\n`;
      // The backlog is written at the reader's pace, then whatever came meanwhile, until caught
      // up; the subscription starts in the same turn as the last (empty) read, so nothing is lost.
      let afterId = backlog.at(-1)?.id ?? store.listEvents({ limit: 1 }).at(-1)?.id ?? 0;
      if (backlog.length > 0) await out.write(backlog.map(line).join(''));
      for (;;) {
        if (out.aborted) return;
        const more = store.listEvents({ afterId, service, limit: 10_000 });
        if (more.length === 0) break;
        afterId = more.at(-1)?.id ?? afterId;
        await out.write(more.map(line).join(''));
      }
      let done: () => void = () => {};
      const closed = new Promise<void>((resolve) => {
        done = resolve;
      });
      let unsubscribe: () => void = () => {};
      const follower = new FollowStream(out, {
        finalLine: (reason) =>
          `${JSON.stringify({ error: `event stream ended: ${reason}`, details: ['follow again to continue; GET /api/events lists what was missed'] })}\n`,
        onCutOff: () => {
          unsubscribe();
          done();
        },
      });
      unsubscribe = events.subscribe((event: SkiffEvent) => {
        if (service === undefined || event.service === service) follower.write(line(event));
      });
      out.onAbort(() => {
        unsubscribe();
        follower.stop();
        done();
      });
      await closed;
      follower.stop();
    });
  });

  app.get('/services/:name/logs', (c) => {
    const name = c.req.param('name');
    if (!store.getService(name)) throw new NotFoundError(`service ${name}`);
    const sinceMs = parseSince(c.req.query('since'), now());
    const request = {
      tail: parseCount('tail', c.req.query('tail'), 1_000_000) ?? null,
      // Kept inside what the protocol carries: "since 99999h ago" is simply since the epoch.
      since:
        sinceMs === undefined ? null : Math.min(Math.max(Math.floor(sinceMs / 1000), 0), MAX_EPOCH_MS / 1000),
      follow: parseFlag('follow', c.req.query('follow')),
    };
    const format = c.req.query('format') ?? 'text';
    if (format !== 'text' && format !== 'ndjson') throw new HttpError(400, 'format: must be text or ndjson');
    const render = (line: LogLine) =>
      format === 'ndjson' ? `${JSON.stringify(line)}\n` : `${line.container} | ${line.line}\n`;
    c.header('Content-Type', format === 'ndjson' ? 'application/x-ndjson' : 'text/plain; charset=utf-8');

    if (request.follow) {
      return stream(c, async (out) => {
        let paced: FollowStream | undefined;
        await new Promise<void>((resolve) => {
          // Lines go out at the reader's pace; one too far behind is told so and let go.
          paced = new FollowStream(out, {
            finalLine: (reason) =>
              format === 'ndjson'
                ? `${JSON.stringify({ error: `log stream ended: ${reason}` })}\n`
                : `skiff: log stream ended: ${reason}\n`,
            onCutOff: () => {
              follower.stop();
              resolve();
            },
          });
          const follower = new ServiceLogFollower({
            service: name,
            request,
            store,
            cluster,
            logs,
            events,
            onLines: (lines) => paced?.write(lines.map(render).join('')),
            onEnd: resolve,
          });
          out.onAbort(() => {
            follower.stop();
            resolve();
          });
          follower.start();
        });
        paced?.stop();
      });
    }

    // Not following: what every replica placed now has, collected and merged in time order.
    const sources = store
      .listTasks(name)
      .filter((t) => t.nodeId !== null && t.observed?.container_id)
      .map((t) => ({ taskId: t.id, nodeId: t.nodeId ?? '', container: slotName(t.service, t.slot) }));

    return stream(c, async (out) => {
      const cancels: (() => void)[] = [];
      const collected: LogLine[] = [];
      let open = 0;
      let finish: () => void = () => {};
      const finished = new Promise<void>((resolve) => {
        finish = resolve;
      });
      out.onAbort(() => {
        for (const cancel of cancels) cancel();
        finish();
      });
      for (const source of sources) {
        const cancel = logs.open(source.nodeId, source.taskId, request, {
          onLines: (lines) => {
            const batch = lines.map((l) => ({
              timestamp: l.at,
              container: source.container,
              node_id: source.nodeId,
              stream: l.stream,
              line: l.text,
            }));
            collected.push(...batch);
          },
          onEnd: () => {
            if (--open === 0) finish();
          },
        });
        if (cancel) {
          open++;
          cancels.push(cancel);
        }
      }
      if (open === 0) finish();
      const timer = setTimeout(finish, LOG_COLLECT_TIMEOUT_MS);
      await finished;
      clearTimeout(timer);
      for (const cancel of cancels) cancel();
      // Docker trims trailing zeros of its nanoseconds: padded, the timestamps sort as text.
      const keyed = collected.map((line) => ({ line, at: sortableLogTime(line.timestamp) }));
      keyed.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
      await out.write(keyed.map(({ line }) => render(line)).join(''));
    });
  });

  return app;
}
