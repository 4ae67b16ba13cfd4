/**
 * One port, two protocols: a TLS handshake starts with byte 0x16 (a handshake record), plain
 * HTTP with a letter. TLS connections go through a `tls.Server` (client certificates requested,
 * not required: API clients have none, agents do) and then to the HTTP server; plain connections
 * only from loopback peers (the spec's `curl http://localhost:8080/...` on the server's host),
 * anything else is answered with a refusal that says to use https.
 */
import type { Server as HttpServer } from 'node:http';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type SecureContextOptions, type TLSSocket } from 'node:tls';
import { AGENT_SERVERNAME } from './serving-names.ts';

/**
 * The listener's TLS: what everyone is served, and `agents`, the cluster's own certificate served
 * to a client asking for `AGENT_SERVERNAME` by SNI (the same unless an operator's is served).
 */
export type ListenerTls = SecureContextOptions & { readonly agents?: SecureContextOptions };

const TLS_HANDSHAKE = 0x16;
/** A peer that sends nothing this long after connecting is dropped. */
const FIRST_BYTE_TIMEOUT_MS = 10_000;

export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4 === '::1' || /^127\./.test(v4);
}

export function plainRefusal(hostHeaderless: string): string {
  const body = `${JSON.stringify({
    error: `plain HTTP is accepted only from this server's own host: use https://${hostHeaderless} and trust the cluster CA (skiff --ca FILE, curl --cacert DIR/ca.crt; GET /ca.crt serves it)`,
  })}\n`;
  return `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

export interface FirstByteListener {
  readonly net: NetServer;
  /** New TLS settings (a renewed certificate); connections already open keep theirs. */
  setSecureContext(options: ListenerTls): void;
}

export function createFirstByteListener(http: HttpServer, tlsOptions: ListenerTls): FirstByteListener {
  const { agents, ...served } = tlsOptions;
  const tls = createTlsServer({ ...served, requestCert: true, rejectUnauthorized: false });
  // The last context added for a name wins (Node's SNI lookup runs from the end), so a renewal adds one.
  if (agents) tls.addContext(AGENT_SERVERNAME, agents);
  tls.on('secureConnection', (socket: TLSSocket) => http.emit('connection', socket));
  tls.on('tlsClientError', (_error, socket) => socket.destroy());
  const net = createServer({ pauseOnConnect: true }, (socket: Socket) => {
    socket.setTimeout(FIRST_BYTE_TIMEOUT_MS, () => socket.destroy());
    socket.once('data', (chunk: Buffer) => {
      socket.setTimeout(0);
      socket.pause();
      socket.unshift(chunk);
      // The TLS socket takes the raw socket's native handle, and first what is buffered in it
      // (the chunk put back above: Node's TLSSocket feeds a socket's readable buffer to its
      // handle before reading): the bytes then flow natively, not through a JS stream.
      if (chunk[0] === TLS_HANDSHAKE) {
        // Not resumed: flowing, the buffer would be emitted to no one before the TLS socket reads it.
        tls.emit('connection', socket);
        return;
      }
      if (isLoopback(socket.remoteAddress)) http.emit('connection', socket);
      else socket.end(plainRefusal(`${socket.localAddress}:${socket.localPort}`));
      socket.resume();
    });
    socket.on('error', () => socket.destroy());
    socket.resume();
  });
  return {
    net,
    setSecureContext(options) {
      const { agents: renewed, ...rest } = options;
      tls.setSecureContext(rest);
      if (renewed) tls.addContext(AGENT_SERVERNAME, renewed);
    },
  };
}
