/**
 * The WebSocket of `skiff exec`: an upgrade of `GET /api/exec` goes through the API app first
 * (auth, roles, target resolution in exec-routes.ts); only if the route accepts it is the
 * socket upgraded and joined to an exec session on the replica's agent. A refusal is answered
 * with the HTTP response the app gave.
 *
 * On the socket: the client sends stdin as binary messages and `{"type":"resize","cols","rows"}`
 * or `{"type":"stdin_end"}` as text; the server sends output as binary messages whose first byte
 * is 1 (stdout) or 2 (stderr), then one `{"type":"exit","exit_code","error"}` and closes.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { z } from 'zod';
import type { ExecBroker } from '../server/exec-broker.ts';
import { EXEC_UPGRADE_ENV, type ExecTarget, type ExecUpgrade } from './exec-routes.ts';
import { refuseUpgrade as refuse, requestOf } from './upgrade-request.ts';

export const EXEC_PATH = '/api/exec';
export const EXEC_STREAM = { stdout: 1, stderr: 2 } as const;

const controlSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('resize'), cols: z.int().min(1).max(10_000), rows: z.int().min(1).max(10_000) }),
  z.object({ type: z.literal('stdin_end') }),
]);

export function isExecUpgrade(request: IncomingMessage): boolean {
  const path = new URL(request.url ?? '/', 'http://skiff').pathname;
  return path === EXEC_PATH && request.headers.upgrade?.toLowerCase() === 'websocket';
}

type Fetch = (request: Request, env: Record<string, unknown>) => Response | Promise<Response>;

/**
 * `forward`, when given, may take an upgrade first (a follower of an HA cluster passes exec on to
 * the leader, where the agents are): it returns true when it did.
 */
export function attachExecUpgrades(
  server: Server,
  fetch: Fetch,
  broker: ExecBroker,
  forward?: (incoming: IncomingMessage, socket: Duplex, head: Buffer) => boolean,
): { close(): void } {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  const onUpgrade = (incoming: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!isExecUpgrade(incoming)) return;
    if (forward?.(incoming, socket, head)) return;
    void upgrade(incoming, socket, head);
  };
  const upgrade = async (incoming: IncomingMessage, socket: Duplex, head: Buffer) => {
    let target: ExecTarget | undefined;
    const callback: ExecUpgrade = {
      accept: (accepted) => {
        target = accepted;
      },
    };
    let response: Response;
    try {
      response = await fetch(requestOf(incoming), {
        incoming,
        outgoing: undefined,
        [EXEC_UPGRADE_ENV]: callback,
      });
    } catch {
      return refuse(socket, 500, '{"error":"internal server error"}');
    }
    const accepted = target;
    if (accepted === undefined) return refuse(socket, response.status, await response.text());
    wss.handleUpgrade(incoming, socket, head, (ws) => {
      const finish = (code: number | null, error: string | null) => {
        if (ws.readyState !== ws.OPEN) return;
        ws.send(JSON.stringify({ type: 'exit', exit_code: code, error }));
        ws.close(1000, 'exited');
      };
      const handle = broker.open(accepted.nodeId, accepted.taskId, accepted.request, {
        onOutput: (stream, data) => {
          if (ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.of(EXEC_STREAM[stream]), data]));
        },
        onExit: finish,
      });
      if (!handle) return finish(null, `node ${accepted.nodeId} is not connected`);
      ws.on('message', (data, isBinary) => {
        const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
        if (isBinary) return handle.input(bytes);
        let parsed: ReturnType<typeof controlSchema.safeParse>;
        try {
          parsed = controlSchema.safeParse(JSON.parse(bytes.toString()));
        } catch {
          return;
        }
        if (!parsed.success) return;
        if (parsed.data.type === 'resize') handle.resize(parsed.data.cols, parsed.data.rows);
        else handle.inputEnd();
      });
      ws.on('close', () => handle.cancel());
      ws.on('error', () => ws.terminate());
    });
  };
  server.on('upgrade', onUpgrade);
  return {
    close() {
      server.off('upgrade', onUpgrade);
      for (const client of wss.clients) client.close(1001, 'server shutting down');
      wss.close();
    },
  };
}
