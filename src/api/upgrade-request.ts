/**
 * What the WebSocket upgrade handlers (`skiff exec`'s, the dashboard stream's) share: the upgrade
 * request as a fetch `Request`, so it passes through the API app (auth, roles, the route) like
 * any other, and the refusal written on the raw socket as the HTTP response the app gave.
 */
import type { IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

export function requestOf(incoming: IncomingMessage): Request {
  const encrypted = (incoming.socket as { encrypted?: boolean }).encrypted === true;
  const url = new URL(
    incoming.url ?? '/',
    `${encrypted ? 'https' : 'http'}://${incoming.headers.host ?? 'localhost'}`,
  );
  const headers = new Headers();
  for (const [name, value] of Object.entries(incoming.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  return new Request(url, { headers });
}

export function refuseUpgrade(socket: Duplex, status: number, body: string): void {
  if (socket.destroyed) return;
  const text = status === 204 || status === 304 ? '' : body;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Refused'}\r\n` +
      `Connection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
  );
}
