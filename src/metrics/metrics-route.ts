/**
 * `GET /metrics` on the API's port, behind the API's bearer-token gate (any role: viewer
 * suffices; src/auth/route-permissions.ts), for Prometheus' `authorization.credentials_file`.
 */
import { Hono } from 'hono';
import { TEXT_CONTENT_TYPE } from './text-format.ts';

export interface MetricsRenderer {
  /** The exposition as UTF-8 text. */
  render(): Promise<Uint8Array<ArrayBuffer>>;
}

export const METRICS_PATH = '/metrics';

export function metricsRoute(metrics: MetricsRenderer): Hono {
  const app = new Hono();
  app.get(METRICS_PATH, async (c) => {
    const text = await metrics.render();
    return c.body(text, 200, { 'content-type': TEXT_CONTENT_TYPE });
  });
  return app;
}
