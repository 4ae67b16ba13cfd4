/**
 * Forwards one API request to the leader over TLS verified by the cluster CA, streaming both
 * ways (a followed log keeps flowing through the follower), and hands back the leader's answer.
 * The caller's bearer token goes along: the leader authenticates and authorises it itself.
 * WebSocket upgrades (exec) are passed on whole: the request's head is written to a TLS
 * connection to the leader, and from then on bytes flow both ways untouched.
 */
import type { IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Duplex } from 'node:stream';
import { Readable } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { FORWARDED_HEADER } from './forward-decision.ts';

/** Headers that belong to one hop (RFC 9110 §7.6.1), not to the forwarded request. */
const HOP_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'host',
]);

export interface ForwardOptions {
  readonly leaderUrl: string;
  /** PEM of the cluster CA bundle the leader's serving certificate must verify against. */
  readonly caPem: string;
  readonly selfId: string;
}

export async function forwardToLeader(request: Request, options: ForwardOptions): Promise<Response> {
  const incoming = new URL(request.url);
  const target = new URL(`${incoming.pathname}${incoming.search}`, options.leaderUrl);
  const headers: Record<string, string> = {};
  request.headers.forEach((value, name) => {
    if (!HOP_HEADERS.has(name.toLowerCase())) headers[name] = value;
  });
  headers[FORWARDED_HEADER] = options.selfId;
  return await new Promise<Response>((resolve) => {
    const outgoing = httpsRequest(
      target,
      { method: request.method, headers, ca: options.caPem },
      (answer) => {
        const answerHeaders = new Headers();
        for (const [name, value] of Object.entries(answer.headers)) {
          if (value === undefined || HOP_HEADERS.has(name)) continue;
          answerHeaders.set(name, Array.isArray(value) ? value.join(', ') : value);
        }
        const status = answer.statusCode ?? 502;
        const body =
          status === 204 || status === 304 ? null : (Readable.toWeb(answer) as ReadableStream<Uint8Array>);
        resolve(new Response(body, { status, headers: answerHeaders }));
      },
    );
    // The client hanging up ends the forwarded request too (a followed log stops at the agent).
    request.signal.addEventListener('abort', () => outgoing.destroy());
    outgoing.on('error', (error) => {
      resolve(
        Response.json(
          { error: `the leader at ${options.leaderUrl} could not be reached: ${error.message}; retry` },
          { status: 503 },
        ),
      );
    });
    if (request.body === null) outgoing.end();
    else Readable.fromWeb(request.body as import('node:stream/web').ReadableStream).pipe(outgoing);
  });
}

/** Passes an upgrade request (a WebSocket) on to the leader and joins the two connections. */
export function forwardUpgrade(
  incoming: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  options: ForwardOptions,
): void {
  const leader = new URL(options.leaderUrl);
  const upstream = tlsConnect({
    host: leader.hostname,
    port: Number(leader.port || 443),
    ca: options.caPem,
    servername: isIp(leader.hostname) ? undefined : leader.hostname,
  });
  const lines = [`${incoming.method ?? 'GET'} ${incoming.url ?? '/'} HTTP/1.1`];
  for (let i = 0; i < incoming.rawHeaders.length; i += 2) {
    const name = incoming.rawHeaders[i] ?? '';
    if (name.toLowerCase() === 'host' || name.toLowerCase() === FORWARDED_HEADER) continue;
    lines.push(`${name}: ${incoming.rawHeaders[i + 1] ?? ''}`);
  }
  lines.push(`Host: ${leader.host}`, `${FORWARDED_HEADER}: ${options.selfId}`);
  upstream.once('secureConnect', () => {
    upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length > 0) upstream.write(head);
    upstream.pipe(socket).pipe(upstream);
  });
  const close = () => {
    upstream.destroy();
    socket.destroy();
  };
  upstream.on('error', (error) => {
    if (socket.writable && upstream.bytesRead === 0) {
      const body = JSON.stringify({
        error: `the leader at ${options.leaderUrl} could not be reached: ${error.message}; retry`,
      });
      socket.end(
        `HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    }
    close();
  });
  socket.on('error', close);
  socket.on('close', () => upstream.destroy());
  upstream.on('close', () => socket.destroy());
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
