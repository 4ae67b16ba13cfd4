/**
 * `GET /metrics` on the API's port, behind the API's bearer-token gate (any role: viewer
 * suffices; src/auth/route-permissions.ts), for Prometheus' `authorization.credentials_file`.
 */
import { Hono } from 'hono';
import { METRICS_PATH, type MetricsRenderer, TEXT_CONTENT_TYPE } from './text-format.ts';

export function metricsRoute(metrics: MetricsRenderer): Hono {
  const app = new Hono();
  app.get(METRICS_PATH, async (c) => {
    const text = await metrics.render();
    return c.body(text, 200, { 'content-type': TEXT_CONTENT_TYPE });
  });
  return app;
}
