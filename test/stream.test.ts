/**
 * The live stream over a real server and real sockets: a WebSocket opened with a bearer token, or
 * with the dashboard's cookie from the server's own origin, gets a snapshot, then the changes a
 * deploy and a scale make, versioned so each continues from the last; a foreign Origin or a wrong
 * token is refused before the upgrade; removing the session's token closes the stream with 4401.
 * No Docker: the server has no agent, so replicas stay pending, which is a change like any other.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import type { StreamServerMessage } from '../src/api/stream/messages.ts';
import { parseServerMessage, STREAM_CLOSE_CODES } from '../src/api/stream/messages.ts';
import type { RunningServer } from '../src/server/skiff-server.ts';
import { startServer } from '../src/server/skiff-server.ts';
import { eventually } from './support/eventually.ts';

let dir: string;
let server: RunningServer;

before(async () => {
  dir = mkdtempSync(join('/dev/shm', 'skiff-stream-'));
  server = await startServer({ dataDir: dir, port: 0, listen: '127.0.0.1', log: () => {} });
});
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const wsUrl = () => `${server.url.replace(/^http/, 'ws')}/api/stream`;
const admin = () => ({ authorization: `Bearer ${server.tokens.admin}` });

/** A stream client that keeps every message and how the socket closed. */
class Reader {
  readonly messages: StreamServerMessage[] = [];
  readonly ws: WebSocket;
  closed: { code: number; reason: string } | undefined;
  refused: number | undefined;
  constructor(headers: Record<string, string>) {
    this.ws = new WebSocket(wsUrl(), { headers });
    this.ws.on('message', (data) => {
      const message = parseServerMessage(String(data));
      assert.ok(message, `a frame of unknown shape: ${String(data).slice(0, 300)}`);
      this.messages.push(message);
    });
    this.ws.on('close', (code, reason) => {
      this.closed = { code, reason: String(reason) };
    });
    this.ws.on('unexpected-response', (_request, response) => {
      this.refused = response.statusCode;
    });
    this.ws.on('error', () => {});
  }
  /** Waits for a message matching `predicate` after the first `skip`, and returns it. */
  next<T extends StreamServerMessage>(what: string, predicate: (m: StreamServerMessage) => m is T, skip = 0) {
    return eventually(what, () => this.messages.slice(skip).find(predicate), {
      timeoutMs: 10_000,
      intervalMs: 20,
    });
  }
}

const isSnapshot = (m: StreamServerMessage): m is Extract<StreamServerMessage, { type: 'snapshot' }> =>
  m.type === 'snapshot';
type Changes = Extract<StreamServerMessage, { type: 'changes' }>;

async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = admin()) {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { ...headers, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as unknown };
}

describe('the stream over a real server', () => {
  test('snapshot, then the changes of a deploy and a scale, each from the last seq', async () => {
    const reader = new Reader(admin());
    const snapshot = await reader.next('a snapshot', isSnapshot);
    assert.deepEqual(snapshot.principal, { name: 'admin', role: 'admin' });
    assert.equal(snapshot.services.length, 0);

    assert.equal(
      (await api('POST', '/api/deploy', { name: 'web', image: 'skiff-demo:v1', replicas: 1 })).status,
      201,
    );
    const deployed = await reader.next(
      'the deploy as a change',
      (m): m is Changes =>
        m.type === 'changes' && (m.services?.upsert.some((s) => s.name === 'web') ?? false),
    );
    assert.equal(deployed.epoch, snapshot.epoch);
    assert.deepEqual(
      deployed.tasks?.upsert.map((t) => [t.service, t.name, t.status]),
      [['web', 'web-0', 'pending']],
    );
    assert.ok(deployed.events?.some((e) => e.message.startsWith('Service web created')));

    assert.equal((await api('POST', '/api/services/web/scale', { replicas: 3 })).status, 200);
    const scaled = await reader.next(
      'the scale as a change',
      (m): m is Changes =>
        m.type === 'changes' && (m.services?.upsert.some((s) => s.replicas === 3) ?? false),
    );
    assert.deepEqual(scaled.tasks?.upsert.map((t) => t.name).sort(), ['web-1', 'web-2']);
    assert.ok(scaled.events?.some((e) => e.message === 'Scaled web from 1 to 3 replica(s) (by token admin)'));

    // Every message continues where the one before it ended: nothing was missed.
    let seq = snapshot.seq;
    for (const message of reader.messages.slice(1)) {
      if (message.type !== 'changes') continue;
      assert.equal(message.from, seq, JSON.stringify(reader.messages.map((m) => m.type)));
      seq = message.seq;
    }
    // A second client, now, starts from a snapshot holding all of it.
    const late = new Reader(admin());
    const lateSnapshot = await late.next('a late snapshot', isSnapshot);
    assert.equal(lateSnapshot.services[0]?.replicas, 3);
    assert.equal(lateSnapshot.tasks.length, 3);
    reader.ws.close();
    late.ws.close();
    assert.equal((await api('DELETE', '/api/services/web')).status, 200);
  });

  test('a dashboard session from the server’s own page opens the stream; other origins and wrong tokens do not', async () => {
    const created = await api('POST', '/api/tokens', { name: 'dash', role: 'viewer' });
    const token = String((created.body as { token: string }).token);
    const signIn = await api('POST', '/api/session', { token }, {});
    assert.equal(signIn.status, 201);
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const origin = server.url;

    const reader = new Reader({ cookie, origin });
    const snapshot = await reader.next('a snapshot for the session', isSnapshot);
    assert.deepEqual(snapshot.principal, { name: 'dash', role: 'viewer' });

    const foreign = new Reader({ cookie, origin: 'https://evil.example' });
    await eventually('the foreign origin refused', () => foreign.refused === 403);
    const wrong = new Reader({ authorization: 'Bearer wrong' });
    await eventually('the wrong token refused', () => wrong.refused === 401);
    const none = new Reader({ origin });
    await eventually('no credential refused', () => none.refused === 401);

    // The token goes: within the revalidation interval (5 s) the stream is closed as unauthorized.
    assert.equal((await api('DELETE', '/api/tokens/dash')).status, 200);
    await eventually('the stream closed', () => reader.closed, { timeoutMs: 10_000 });
    assert.equal(reader.closed?.code, STREAM_CLOSE_CODES.unauthorized);
    assert.equal(reader.messages.at(-1)?.type, 'error');
  });

  test('over TLS the session cookie is Secure and the stream is a wss:// socket verified by the cluster CA', async () => {
    const port = new URL(server.url).port;
    const ca = server.pki.caBundlePem;
    const cookie = await new Promise<string>((resolve, reject) => {
      const request = httpsRequest(
        {
          host: '127.0.0.1',
          port,
          path: '/api/session',
          method: 'POST',
          ca,
          headers: { 'content-type': 'application/json' },
        },
        (response) => {
          response.resume();
          resolve(String(response.headers['set-cookie']?.[0] ?? ''));
        },
      );
      request.on('error', reject);
      request.end(JSON.stringify({ token: server.tokens.admin }));
    });
    assert.match(cookie, /; Secure/);
    assert.match(cookie, /; HttpOnly/);
    const pair = cookie.split(';')[0] ?? '';
    const ws = new WebSocket(`wss://127.0.0.1:${port}/api/stream`, {
      ca,
      headers: { cookie: pair, origin: `https://127.0.0.1:${port}` },
    });
    const first = await new Promise<StreamServerMessage | undefined>((resolve, reject) => {
      ws.once('message', (data) => resolve(parseServerMessage(String(data))));
      ws.once('error', reject);
    });
    assert.equal(first?.type, 'snapshot');
    ws.close();
  });

  test('the agents’ door still answers only agents (their upgrade goes to the gateway)', async () => {
    const response = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}/agent/v1`);
      ws.on('unexpected-response', (_request, r) => resolve(r.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => {});
    });
    assert.equal(response, 401, 'no client certificate: the gateway refuses, as before');
  });
});
