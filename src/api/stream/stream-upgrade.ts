/**
 * WebSocket upgrades of `/api/stream`: the request goes through the API app first (the same auth
 * gate, role table and Origin check as any request); only if the route accepts it is the socket
 * upgraded and joined to the hub. A refusal is answered as the HTTP response the app gave.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { Principal } from '../../auth/authenticate.ts';
import { refuseUpgrade as refuse, requestOf } from '../upgrade-request.ts';
import type { StreamUpgrade } from './live-routes.ts';
import { STREAM_UPGRADE_ENV } from './live-routes.ts';
import { STREAM_CLOSE_CODES, STREAM_PATH } from './messages.ts';
import type { StreamHub } from './stream-hub.ts';

export function isStreamUpgrade(request: IncomingMessage): boolean {
  const path = new URL(request.url ?? '/', 'http://skiff').pathname;
  return path === STREAM_PATH && request.headers.upgrade?.toLowerCase() === 'websocket';
}

const PING_INTERVAL_MS = 20_000;

type Fetch = (request: Request, env: Record<string, unknown>) => Response | Promise<Response>;

export function attachStreamUpgrades(server: Server, fetch: Fetch, hub: StreamHub): { close(): void } {
  // Clients send only `{"type":"resync"}`.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });
  const onUpgrade = (incoming: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!isStreamUpgrade(incoming)) return;
    void upgrade(incoming, socket, head);
  };
  const upgrade = async (incoming: IncomingMessage, socket: Duplex, head: Buffer) => {
    let accepted: { principal: Principal; stillValid: () => boolean } | undefined;
    const callback: StreamUpgrade = {
      accept: (principal, stillValid) => {
        accepted = { principal, stillValid };
      },
    };
    let response: Response;
    try {
      response = await fetch(requestOf(incoming), {
        incoming,
        outgoing: undefined,
        [STREAM_UPGRADE_ENV]: callback,
      });
    } catch {
      return refuse(socket, 500, '{"error":"internal server error"}');
    }
    const granted = accepted;
    if (!granted) return refuse(socket, response.status, await response.text());
    wss.handleUpgrade(incoming, socket, head, (ws) => {
      const connection = hub.connect(ws, granted.principal, granted.stillValid);
      // A peer gone without a FIN (a laptop closed, a partition) would hold its socket for many
      // minutes: every browser answers pings, so one unanswered for a whole interval ends it.
      let answered = true;
      const pinger = setInterval(() => {
        if (!answered) return ws.terminate();
        answered = false;
        ws.ping();
      }, PING_INTERVAL_MS);
      pinger.unref();
      ws.on('pong', () => {
        answered = true;
      });
      ws.on('message', (data, isBinary) => connection.receive(isBinary ? '' : data.toString()));
      ws.on('close', () => {
        clearInterval(pinger);
        connection.closed();
      });
      ws.on('error', () => ws.terminate());
    });
  };
  server.on('upgrade', onUpgrade);
  return {
    close() {
      server.off('upgrade', onUpgrade);
      for (const client of wss.clients)
        client.close(STREAM_CLOSE_CODES.serverShutdown, 'server shutting down');
      wss.close();
    },
  };
}
