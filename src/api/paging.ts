/**
 * Paging of list endpoints: `limit` (at most MAX_PAGE) and `after` (the key of the last item of
 * the previous page) as query parameters. The answer stays the spec's bare array; when more
 * items follow, a `Link: <…>; rel="next"` header (RFC 8288) points to the next page, keeping the
 * request's other parameters. Without `limit`, the whole list, as before.
 */
import type { Context } from 'hono';
import { parseCount } from './query.ts';

export const MAX_PAGE = 10_000;

export interface PageRequest {
  readonly limit: number | undefined;
  readonly after: string | undefined;
}

export function pageRequest(c: Context): PageRequest {
  const limit = parseCount('limit', c.req.query('limit'), MAX_PAGE);
  const after = c.req.query('after');
  return { limit: limit === 0 ? undefined : limit, after: after === '' ? undefined : after };
}

/** Points the client at the page after `lastKey`. */
export function linkNext(c: Context, limit: number, lastKey: string): void {
  const url = new URL(c.req.url);
  url.searchParams.set('limit', String(limit));
  url.searchParams.set('after', lastKey);
  c.header('Link', `<${url.pathname}${url.search}>; rel="next"`);
}

/**
 * The page of `items` (sorted by `keyOf`, ascending) the request asks for: those after `after`,
 * at most `limit`, with a Link to the next page when more follow.
 */
export function page<T>(c: Context, items: readonly T[], keyOf: (item: T) => string): T[] {
  const { limit, after } = pageRequest(c);
  const rest = after === undefined ? [...items] : items.filter((item) => keyOf(item) > after);
  if (limit === undefined || rest.length <= limit) return rest;
  const taken = rest.slice(0, limit);
  const last = taken.at(-1);
  if (last !== undefined) linkNext(c, limit, keyOf(last));
  return taken;
}
