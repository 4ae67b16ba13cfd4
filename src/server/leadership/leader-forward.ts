/**
 * Forwards one API request to the leader over TLS verified by the cluster CA, streaming both
 * ways (a followed log keeps flowing through the follower), and hands back the leader's answer.
 * The caller's bearer token goes along: the leader authenticates and authorises it itself.
 */
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
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
