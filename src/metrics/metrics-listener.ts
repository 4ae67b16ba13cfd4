/**
 * `--metrics-listen ADDR`: `GET /metrics` without a token on a port of its own, for a Prometheus
 * the operator would rather not give a token. Plain HTTP only on a loopback address; anywhere
 * else it speaks TLS with the cluster's serving certificate (renewals swap it in), so the scrape
 * can be trusted as the API is (Prometheus' `tls_config.ca_file: DIR/ca.crt`).
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { isIP } from 'node:net';
import type { SecureContextOptions } from 'node:tls';
// Not from metrics-route.ts: that one brings hono, which an agent's listener does without.
import { METRICS_PATH, type MetricsRenderer, TEXT_CONTENT_TYPE } from './text-format.ts';

// node:http as Node's own module object, not an ESM import of it: an import reads every export,
// and its lazy WebSocket getters load undici (6 MB of an agent's RSS; README: the agent's footprint).
const { createServer: createHttpServer } = process.getBuiltinModule('node:http');

export class MetricsListenError extends Error {
  override readonly name = 'MetricsListenError';
}

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** `HOST:PORT` or `[V6]:PORT`; the port may be 0 (any free one). */
export function parseListenAddress(text: string): ListenAddress {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (!match || host === undefined || !Number.isInteger(port) || port > 65_535)
    throw new MetricsListenError(`--metrics-listen: expected HOST:PORT (e.g. 127.0.0.1:9464), got ${text}`);
  if (match[1] !== undefined && isIP(host) !== 6)
    throw new MetricsListenError(`--metrics-listen: ${host} is not an IPv6 address`);
  return { host, port };
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export interface MetricsListenerOptions {
  readonly address: ListenAddress;
  readonly metrics: MetricsRenderer;
  /** The serving certificate now; used unless the address is loopback. */
  readonly tls: () => SecureContextOptions;
  /** Registers a call for each certificate renewal. */
  readonly onRenewed: (listener: () => void) => void;
  readonly log: (message: string) => void;
}

export interface RunningMetricsListener {
  readonly url: string;
  close(): Promise<void>;
}

export async function startMetricsListener(options: MetricsListenerOptions): Promise<RunningMetricsListener> {
  const { address, metrics } = options;
  const plain = isLoopbackHost(address.host);
  const handler = (req: IncomingMessage, res: ServerResponse) => void serve(req, res, metrics, options.log);
  let server: Server;
  if (plain) server = createHttpServer(handler);
  else {
    const https = createHttpsServer(options.tls(), handler);
    options.onRenewed(() => https.setSecureContext(options.tls()));
    server = https;
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return {
    url: `${plain ? 'http' : 'https'}://${host}:${port}${METRICS_PATH}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function serve(
  req: IncomingMessage,
  res: ServerResponse,
  metrics: MetricsRenderer,
  log: (message: string) => void,
): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://skiff').pathname;
  if (path !== METRICS_PATH || (req.method !== 'GET' && req.method !== 'HEAD')) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end(`only GET ${METRICS_PATH} is served here\n`);
    return;
  }
  try {
    const text = await metrics.render();
    res.writeHead(200, { 'content-type': TEXT_CONTENT_TYPE }).end(req.method === 'HEAD' ? undefined : text);
  } catch (error) {
    log(`metrics: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics failed\n');
  }
}
