/**
 * HTTP/1.1 mode: a `node:http` server whose requests are each relayed to a picked backend over
 * that backend's keep-alive agent, bodies streamed both ways. An attempt that fails before the
 * backend can have seen the request (connect refused, unreachable or timed out; a reset on a
 * reused idle socket) moves to another backend; once a response has started nothing is retried.
 * Answers of its own: 403 (`allow`), 501 (protocol upgrades), 502/504 (a backend failed or went
 * silent), 503 (no backend, or every one refused).
 */
import type { ClientRequest, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Backend } from './balancer.ts';
import { clientAddress } from './client-address.ts';
import { UpstreamTimeoutError } from './errors.ts';
import { forwardRequestHeaders, forwardResponseHeaders, isUnsupportedUpgrade } from './forward-headers.ts';
import { type EmptyBody, type ReplayableBody, requestBody } from './replayable-body.ts';
import type { Lease, RouteState } from './route-state.ts';
import type { UpstreamPool } from './upstream-pool.ts';

// node:http as Node's own module object, not an ESM import of it: an import reads every export,
// and its lazy WebSocket getters load undici (6 MB of an agent's RSS; README: the agent's footprint).
const { createServer, request } = process.getBuiltinModule('node:http');

export interface HttpProxyOptions {
  /** How long a backend may stay silent — before its response, or between its chunks — before a 504. */
  readonly requestTimeoutMs: number;
  /** Request body kept for a retry after a keep-alive reset; larger bodies are not retried then. */
  readonly retryBodyLimitBytes: number;
  readonly onRequest?: RequestListener;
}

/**
 * Told of each request once its answer is sent (or the client went away before one: status
 * undefined), with the seconds since it arrived: the agent counts them by service.
 */
export type RequestListener = (routeKey: string, status: number | undefined, seconds: number) => void;

export interface HttpRouteContext {
  readonly route: RouteState;
  readonly pool: UpstreamPool;
  /** True once this listener is closing: answers carry `Connection: close` so clients reconnect elsewhere. */
  readonly closing: () => boolean;
}

// Requests the client expects may be repeated (RFC 9110 §9.2.1): a reset on a fresh connection
// before any response may mean the backend died with the request unread in its accept queue.
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const RETRYABLE_RESETS = new Set(['ECONNRESET', 'EPIPE']);

export function createHttpProxyServer(context: HttpRouteContext, options: HttpProxyOptions): Server {
  const server = createServer((req, res) => handleRequest(req, res, context, options));
  // HTTP/1.0 clients (nc, busybox, scripts) send the request and half-close. By default Node ends
  // the socket at the client's FIN, before the backend has answered; half-open keeps the write
  // side until the response is done. `httpAllowHalfOpen` is Node's (long-standing) switch for it.
  Object.assign(server, { httpAllowHalfOpen: true });
  // CONNECT would make this an open forward proxy; refuse it plainly rather than drop the socket.
  server.on('connect', (_req: IncomingMessage, socket: Socket) => {
    socket.on('error', () => socket.destroy());
    socket.end(rawAnswer(501, 'CONNECT is not supported\n'));
  });
  return server;
}

function handleRequest(
  req: IncomingMessage,
  res: ServerResponse,
  context: HttpRouteContext,
  options: HttpProxyOptions,
): void {
  const { route } = context;
  route.countRequest();
  const onRequest = options.onRequest;
  if (onRequest) {
    const startedAt = performance.now();
    let told = false;
    const tell = () => {
      if (told) return;
      told = true;
      onRequest(
        route.key,
        res.writableFinished ? res.statusCode : undefined,
        (performance.now() - startedAt) / 1000,
      );
    };
    res.once('finish', tell);
    res.once('close', tell);
  }
  const { client, allowed } = checkClient(req.socket, route);
  if (client === undefined || !allowed) {
    route.countRejected();
    answer(req, res, context, 403, `this client may not reach ${route.key}\n`);
    return;
  }
  if (isUnsupportedUpgrade(req.rawHeaders)) {
    answer(req, res, context, 501, 'protocol upgrades (WebSocket) are not proxied\n');
    return;
  }
  new Exchange(req, res, context, options, client).start();
}

interface ClientCheck {
  readonly rule: unknown;
  readonly client: string | undefined;
  readonly allowed: boolean;
}

// A keep-alive connection's client address does not change between its requests, so `allow` is
// asked once per connection (and again only after the route's rule was replaced).
const checkedClients = new WeakMap<Socket, ClientCheck>();

function checkClient(socket: Socket, route: RouteState): ClientCheck {
  const rule = route.allowRule;
  const prior = checkedClients.get(socket);
  if (prior !== undefined && prior.rule === rule) return prior;
  const client = clientAddress(socket);
  const check = { rule, client, allowed: client !== undefined && route.allows(client) };
  checkedClients.set(socket, check);
  return check;
}

interface Attempt {
  readonly backend: Backend;
  readonly lease: Lease;
  readonly upstream: ClientRequest;
  /** The socket was up before anything was written: a failure before this means the backend saw nothing. */
  connected: boolean;
}

/** One client request through its attempts, until one response is relayed or the client is answered. */
class Exchange {
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #context: HttpRouteContext;
  readonly #options: HttpProxyOptions;
  readonly #headers: string[];
  readonly #body: ReplayableBody | EmptyBody;
  readonly #tried = new Set<string>();
  #current: Attempt | undefined;
  /** A response (the backend's or the proxy's) has begun: no more attempts. */
  #responding = false;
  #clientGone = false;

  constructor(
    req: IncomingMessage,
    res: ServerResponse,
    context: HttpRouteContext,
    options: HttpProxyOptions,
    client: string,
  ) {
    this.#req = req;
    this.#res = res;
    this.#context = context;
    this.#options = options;
    this.#headers = forwardRequestHeaders(req.rawHeaders, { clientAddress: client, proto: 'http' });
    this.#body = requestBody(req, options.retryBodyLimitBytes);
    res.once('close', () => {
      if (res.writableFinished) return;
      // The client left first: stop the backend's work; its leaving is not the backend's failure.
      this.#clientGone = true;
      const current = this.#current;
      current?.lease.end('ok');
      current?.upstream.destroy();
    });
  }

  start(): void {
    this.#attempt();
  }

  #attempt(): void {
    if (this.#clientGone) return;
    const { route, pool } = this.#context;
    const backend = route.pick(this.#tried);
    if (backend === undefined) {
      const text = this.#tried.size === 0 ? 'no backend available' : 'no backend accepted the request';
      this.#fail(503, `${text} for ${route.key}\n`);
      return;
    }
    if (this.#tried.size > 0) route.countRetry();
    this.#tried.add(backend.id);
    let upstream: ClientRequest;
    try {
      upstream = request({
        host: backend.host,
        port: backend.port,
        method: this.#req.method,
        path: this.#req.url,
        headers: this.#headers,
        agent: pool.agentFor(backend),
        timeout: this.#options.requestTimeoutMs,
      });
    } catch (error) {
      // Node's client validates what its server let through (path, header characters) more
      // strictly; such a request cannot be forwarded anywhere, and a throw here would end the agent.
      this.#fail(400, `the request cannot be forwarded: ${errorCode(asError(error))}\n`);
      return;
    }
    const attempt: Attempt = { backend, lease: route.begin(backend), upstream, connected: false };
    this.#current = attempt;
    upstream.once('socket', (socket: Socket) => {
      // The body is read only once the connection is up, so a refused connect consumes none of it.
      const startBody = () => {
        attempt.connected = true;
        if (this.#current === attempt) this.#body.attach(upstream);
      };
      if (socket.connecting) socket.once('connect', startBody);
      else startBody();
    });
    upstream.once('timeout', () =>
      upstream.destroy(new UpstreamTimeoutError(backend, this.#options.requestTimeoutMs)),
    );
    upstream.once('response', (response) => this.#relay(attempt, response));
    upstream.on('error', (error) => this.#onUpstreamError(attempt, error));
  }

  #relay(attempt: Attempt, response: IncomingMessage): void {
    if (this.#clientGone) return;
    this.#responding = true;
    this.#body.stopCopying();
    const headers = forwardResponseHeaders(response.rawHeaders);
    if (this.#context.closing()) headers.push('Connection', 'close');
    try {
      this.#res.writeHead(response.statusCode ?? 502, response.statusMessage, headers);
    } catch (error) {
      // A status line or field Node's server refuses to write (its client parser is laxer).
      attempt.lease.end('failed');
      attempt.upstream.destroy();
      this.#fail(502, `${attempt.backend.id} sent an invalid response: ${errorCode(asError(error))}\n`);
      return;
    }
    // Relayed by hand rather than with pipe(), which sets up and tears down seven listeners per
    // response; the end is ours too, so trailers can be added first.
    const res = this.#res;
    response.on('data', (chunk: Buffer) => {
      if (!res.write(chunk)) {
        response.pause();
        res.once('drain', () => response.resume());
      }
    });
    response.once('end', () => {
      const trailers = pairs(response.rawTrailers);
      try {
        if (trailers.length > 0) this.#res.addTrailers(trailers);
      } catch {
        // Invalid trailer characters: the body is complete, so the trailers are dropped, not the response.
      }
      this.#res.end();
      attempt.lease.end('ok');
    });
    // A cut is handled on 'close'; the listener only keeps the error from being unhandled.
    response.on('error', () => {});
    response.once('close', () => {
      if (response.complete) return;
      // Cut mid-body: truncate the client's response too, so it cannot mistake it for whole.
      attempt.lease.end('failed');
      this.#res.destroy();
    });
  }

  #onUpstreamError(attempt: Attempt, error: Error): void {
    attempt.lease.end('failed');
    if (this.#clientGone || this.#current !== attempt) return;
    if (this.#responding) {
      this.#res.destroy();
      return;
    }
    if (this.#retryable(attempt, error)) {
      this.#body.detach();
      this.#attempt();
      return;
    }
    if (error instanceof UpstreamTimeoutError)
      this.#fail(504, `${attempt.backend.id} did not answer in time\n`);
    else this.#fail(502, `${attempt.backend.id} failed: ${errorCode(error)}\n`);
  }

  #retryable(attempt: Attempt, error: Error): boolean {
    if (!this.#body.replayable) return false;
    if (!attempt.connected) return true;
    if (!RETRYABLE_RESETS.has(errorCode(error))) return false;
    // A reused socket reset before any response is the keep-alive race: the backend closed the
    // idle socket as the request went out, so it never read it.
    return attempt.upstream.reusedSocket || SAFE_METHODS.has(this.#req.method ?? '');
  }

  #fail(status: number, text: string): void {
    if (this.#clientGone) return;
    this.#responding = true;
    this.#context.route.countFailure();
    answer(this.#req, this.#res, this.#context, status, text);
  }
}

/** A short text answer from the proxy itself. */
function answer(
  req: IncomingMessage,
  res: ServerResponse,
  context: HttpRouteContext,
  status: number,
  text: string,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = Buffer.from(text);
  const headers: Record<string, string | number> = {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': body.length,
  };
  // An unread request body would be parsed as the next request; close instead of draining it.
  if (!req.complete || context.closing()) headers.Connection = 'close';
  res.writeHead(status, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}

function rawAnswer(status: number, text: string): string {
  const reason = status === 501 ? 'Not Implemented' : 'Error';
  return `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`;
}

function pairs(raw: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i] ?? '', raw[i + 1] ?? '']);
  return out;
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

function errorCode(error: Error): string {
  const code = 'code' in error ? error.code : undefined;
  return typeof code === 'string' ? code : error.name;
}
