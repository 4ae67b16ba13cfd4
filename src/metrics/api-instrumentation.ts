/**
 * Times every API request and counts it by route pattern (`/api/services/:name`, never the path,
 * which would make a series per service name) and status. A request no route matched is
 * `unmatched`: a scanner's probes of random paths add one series, not one per path.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';

export interface RequestObserver {
  observeRequest(method: string, route: string, status: number, seconds: number): void;
}

export const UNMATCHED_ROUTE = 'unmatched';

export function instrumentRequests(observer: RequestObserver): MiddlewareHandler {
  return async (c, next) => {
    const startedAt = performance.now();
    try {
      await next();
    } finally {
      observer.observeRequest(c.req.method, routeOf(c), c.res.status, (performance.now() - startedAt) / 1000);
    }
  };
}

/** The pattern of the handler that answered (the last matched route that is not middleware). */
function routeOf(c: Context): string {
  const route = matchedRoutes(c)
    .filter((r) => r.method !== 'ALL')
    .at(-1);
  return route?.path ?? UNMATCHED_ROUTE;
}
