/**
 * The cost of a TLS agent reconnect, for bench:deploy: (1) a running agent's connection cut
 * (a TCP relay on loopback between it and the server drops both sides, as a failed link would)
 * → its node ready again, the redial on a resumed TLS session included; (2) the mutual-TLS
 * handshake alone, with the agent's own identity against the same server: full, and resumed from
 * the session the full one got (what the agent does on a redial, src/agent/tls-sessions.ts).
 */
import type { Server, Socket } from 'node:net';
import { createServer, connect as netConnect } from 'node:net';
import { createSecureContext, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { agentTlsOptions } from '../../src/security/agent-tls.ts';
import type { NodeIdentity } from '../../src/security/node-identity.ts';

/** A plain TCP relay to `target` on loopback whose connections can all be cut at once. */
export class CuttableRelay {
  readonly #server: Server;
  readonly #pairs: Set<readonly [Socket, Socket]>;
  readonly #counter: { accepted: number };

  private constructor(server: Server, pairs: Set<readonly [Socket, Socket]>, counter: { accepted: number }) {
    this.#server = server;
    this.#pairs = pairs;
    this.#counter = counter;
  }

  /** Connections accepted so far. */
  get accepted(): number {
    return this.#counter.accepted;
  }

  static async start(target: { host: string; port: number }): Promise<CuttableRelay> {
    const pairs = new Set<readonly [Socket, Socket]>();
    const counter = { accepted: 0 };
    const server = createServer((client) => {
      const upstream = netConnect(target);
      const pair = [client, upstream] as const;
      pairs.add(pair);
      counter.accepted++;
      const cut = () => {
        client.destroy();
        upstream.destroy();
        pairs.delete(pair);
      };
      client.on('error', cut).on('close', cut);
      upstream.on('error', cut).on('close', cut);
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    return new CuttableRelay(server, pairs, counter);
  }

  get url(): string {
    const address = this.#server.address();
    if (typeof address !== 'object' || address === null) throw new Error('relay not listening');
    return `https://127.0.0.1:${address.port}`;
  }

  /** Drops every relayed connection, both sides at once. */
  cut(): void {
    for (const [client, upstream] of this.#pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.#pairs.clear();
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise((done) => this.#server.close(done));
  }
}

/** One mutual-TLS handshake to `url` as the agent makes it: ms to a secure connection, and whether it resumed. */
async function handshake(
  url: URL,
  identity: NodeIdentity,
  session: Buffer | undefined,
): Promise<{ ms: number; resumed: boolean; session: Buffer | undefined }> {
  const context = createSecureContext({ key: identity.keyPem, cert: identity.certPem, ca: identity.caPem });
  const started = performance.now();
  return await new Promise((resolve, reject) => {
    let got: Buffer | undefined;
    const socket: TLSSocket = tlsConnect({
      host: url.hostname,
      port: Number(url.port),
      secureContext: context,
      ...agentTlsOptions(url),
      ...(session ? { session } : {}),
    });
    socket.on('session', (ticket: Buffer) => {
      got = ticket;
    });
    socket.once('secureConnect', () => {
      const ms = performance.now() - started;
      const resumed = socket.isSessionReused();
      // TLS 1.3 sends its tickets just after the handshake: wait a moment for one.
      setTimeout(() => {
        socket.destroy();
        resolve({ ms, resumed, session: got });
      }, 20);
    });
    socket.once('error', reject);
  });
}

/** Medians of `trials` full and resumed handshakes (ms), and how many of the latter did resume. */
export async function handshakeCosts(
  serverUrl: string,
  identity: NodeIdentity,
  trials: number,
): Promise<{ fullMs: number[]; resumedMs: number[]; resumed: number }> {
  const url = new URL(serverUrl.replace(/^http:/, 'https:'));
  const fullMs: number[] = [];
  const resumedMs: number[] = [];
  let resumed = 0;
  for (let i = 0; i < trials; i++) {
    const full = await handshake(url, identity, undefined);
    fullMs.push(full.ms);
    const again = await handshake(url, identity, full.session);
    resumedMs.push(again.ms);
    if (again.resumed) resumed++;
  }
  return { fullMs, resumedMs, resumed };
}
