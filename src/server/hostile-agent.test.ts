/**
 * A hostile agent: a raw WebSocket client holding the join token, sending what no real agent
 * would. The server (started in this process, on loopback, no Docker) must log and drop or close,
 * never crash, and its views must keep answering.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { eventually } from '../../test/support/eventually.ts';
import { MAX_EVENT_MESSAGE_CHARS } from '../model/bounds.ts';
import { PROTOCOL_VERSION } from '../protocol/features.ts';
import { AGENT_PATH, CLOSE_CODES } from '../protocol/messages.ts';
import { joinCluster, type NodeIdentity } from '../security/node-identity.ts';
import { hello, startGateway } from './gateway-fixture.ts';
import type { RunningServer } from './skiff-server.ts';
import { startServer } from './skiff-server.ts';

export interface RawAgent {
  readonly socket: WebSocket;
  readonly received: unknown[];
  send(message: unknown): void;
  /** Resolves with the close code. */
  readonly closed: Promise<number>;
}

/** With an identity, over mutual TLS as real agents connect; without, to a bare gateway. */
export async function rawAgent(server: { url: string; identity?: NodeIdentity }): Promise<RawAgent> {
  const { identity } = server;
  const socket = new WebSocket(
    new URL(AGENT_PATH, server.url.replace(/^https?/, identity ? 'wss' : 'ws')),
    identity ? { ca: identity.caPem, cert: identity.certPem, key: identity.keyPem } : {},
  );
  const received: unknown[] = [];
  socket.on('message', (data) => received.push(JSON.parse(String(data))));
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return {
    socket,
    received,
    closed,
    send: (message) => socket.send(typeof message === 'string' ? message : JSON.stringify(message)),
  };
}

/** A raw agent of a real server, joined as `name` (its node certificate kept in `dir`). */
export async function joinedAgent(
  server: Pick<RunningServer, 'url' | 'tokens'>,
  name: string,
  dir: string,
): Promise<RawAgent> {
  const identity = await joinCluster({
    serverUrl: server.url,
    token: server.tokens.join,
    nodeName: name,
    dataDir: join(dir, 'agents', name),
  });
  return rawAgent({ url: server.url, identity });
}

export function report(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'report', generation: 1, full: false, tasks: [], removed: [], events: [], ...extra };
}

function event(message: string, at: number): Record<string, unknown> {
  return { type: 'container', service: null, container: null, node: null, message, at };
}

describe('a hostile agent', () => {
  let dir: string;
  let server: RunningServer;
  const logged: string[] = [];
  const api = async (path: string) => {
    const response = await fetch(`${server.url}${path}`, {
      headers: { authorization: `Bearer ${server.tokens.admin}` },
    });
    return { status: response.status, body: (await response.json()) as unknown };
  };
  /** Joined with the join token (a node certificate for `name`), then connected. */
  const joined = (name: string): Promise<RawAgent> => joinedAgent(server, name, dir);
  const welcomed = async (name: string): Promise<RawAgent> => {
    const agent = await joined(name);
    agent.send(hello(name));
    await eventually(
      'a welcome',
      () => agent.received.some((m) => (m as { type?: string }).type === 'welcome'),
      {
        timeoutMs: 5000,
        intervalMs: 10,
      },
    );
    return agent;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-hostile-'));
    server = await startServer({
      dataDir: dir,
      port: 0,
      listen: '127.0.0.1',
      log: (line) => logged.push(line),
    });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('an event at 1e300 closes the connection as a bad message; the server lives on', async () => {
    const agent = await welcomed('evil-1');
    agent.send(report({ events: [event('from the far future', 1e300)] }));
    assert.equal(await agent.closed, CLOSE_CODES.badMessage);
    assert.equal((await api('/api/events')).status, 200);
    assert.ok(logged.some((line) => line.includes('bad message') && line.includes('events.0.at')));
  });

  test('a garbled agent.metrics is dropped at the scrape, logged; the connection and /metrics stay', async () => {
    const agent = await welcomed('evil-metrics');
    // Begins as an agent's counters do, so the gateway keeps it unread (agent-snapshots.ts).
    agent.send('{"type":"agent.metrics", this is not JSON');
    agent.send({ type: 'heartbeat' });
    // Scraped until the text was read: the scrape's request may be served before the frames are.
    await eventually(
      'the garbled text dropped at a scrape',
      async () => {
        const scraped = await fetch(`${server.url}/metrics`, {
          headers: { authorization: `Bearer ${server.tokens.admin}` },
        });
        assert.equal(scraped.status, 200);
        await scraped.text();
        return logged.some(
          (line) => line.includes('agent evil-metrics') && line.includes('dropped its agent.metrics'),
        );
      },
      { timeoutMs: 5000, intervalMs: 20 },
    );
    assert.equal(agent.socket.readyState, WebSocket.OPEN);
    agent.socket.close();
    await agent.closed;
  });

  test('a retry_at of 1e300 never reaches the views', async () => {
    const agent = await welcomed('evil-2');
    const deployed = await fetch(`${server.url}/api/deploy`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.tokens.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'web', image: 'skiff-demo:v1', replicas: 1 }),
    });
    assert.equal(deployed.status, 201);
    const task = await eventually(
      'the replica assigned to evil-2',
      () => {
        const assign = agent.received.find(
          (m): m is { type: 'assign'; tasks: { task_id: string }[] } =>
            (m as { type?: string }).type === 'assign' && (m as { tasks: unknown[] }).tasks.length > 0,
        );
        return assign?.tasks[0];
      },
      { timeoutMs: 5000, intervalMs: 20 },
    );
    agent.send(
      report({
        tasks: [
          {
            task_id: task.task_id,
            state: 'backoff',
            container_id: null,
            health: 'none',
            message: 'waiting',
            exit_code: 1,
            restart_count: 1,
            ports: [],
            retry_at: 1e300,
            ready_since: null,
            ip: null,
          },
        ],
      }),
    );
    assert.equal(await agent.closed, CLOSE_CODES.badMessage);
    assert.equal((await api('/api/services')).status, 200);
  });

  test('garbage, a missing hello and an overlong name are refused one connection at a time', async () => {
    const notJson = await joined('garbage-1');
    notJson.send('{"type": "hello", ');
    assert.equal(await notJson.closed, CLOSE_CODES.badMessage);

    const noHello = await joined('garbage-2');
    noHello.send({ type: 'heartbeat' });
    assert.equal(await noHello.closed, CLOSE_CODES.badMessage);

    const longName = await joined('garbage-3');
    longName.send(hello('n'.repeat(10_000)));
    assert.equal(await longName.closed, CLOSE_CODES.badMessage);

    const numbers = await joined('evil-3');
    numbers.send({
      ...hello('evil-3'),
      node: { ...(hello('x').node as object), name: 'evil-3', cpu_millicores: 1e300 },
    });
    assert.equal(await numbers.closed, CLOSE_CODES.badMessage);
    assert.equal((await api('/api/nodes')).status, 200);
  });

  test('a huge event message is kept to its bound, with a marker', async () => {
    const agent = await welcomed('evil-4');
    agent.send(report({ events: [event(`huge ${'x'.repeat(2 * 1024 * 1024)}`, Date.now())] }));
    const events = await eventually(
      'the huge event, cut',
      async () => {
        const { body } = await api('/api/events?limit=50');
        return (body as { message: string }[]).find((e) => e.message.startsWith('huge '));
      },
      { timeoutMs: 5000, intervalMs: 20 },
    );
    assert.ok(events.message.length <= MAX_EVENT_MESSAGE_CHARS, String(events.message.length));
    assert.match(events.message, /\[truncated \d+ characters\]$/);
    agent.socket.close();
  });

  test('a message of a type the server does not know is ignored, the connection stays', async () => {
    const agent = await welcomed('evil-5');
    agent.send({ type: 'from.the.future', payload: 1 });
    agent.send({ type: 'heartbeat' });
    await eventually(
      'the unknown type logged',
      () => logged.some((line) => line.includes('unknown type "from.the.future"')),
      { timeoutMs: 5000, intervalMs: 10 },
    );
    assert.equal(agent.socket.readyState, WebSocket.OPEN);
    agent.socket.close();
  });

  test('after all that, the server still serves', async () => {
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    assert.equal((await api('/api/services')).status, 200);
  });
});

test('a message whose handling throws is dropped; the connection and the process stay', async () => {
  const { cluster, agentUrl, logged, close } = await startGateway({
    nodeName: 'thrower',
    controller: {
      applyReport() {
        throw new Error('boom in applyReport');
      },
    },
  });
  try {
    const agent = await rawAgent({ url: `http://${agentUrl.host}` });
    agent.send(hello('thrower'));
    agent.send(report());
    await eventually('the throw logged', () => logged.some((l) => l.includes('boom in applyReport')), {
      timeoutMs: 5000,
      intervalMs: 10,
    });
    agent.send({ type: 'heartbeat' });
    assert.equal(agent.socket.readyState, WebSocket.OPEN);
    assert.equal(cluster.get('thrower')?.status, 'ready');
    agent.socket.close();
    await agent.closed;
  } finally {
    await close();
  }
});

test('a replica is never assigned to an agent lacking a feature it needs; it waits, saying which', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-features-'));
  const server = await startServer({ dataDir: dir, port: 0, listen: '127.0.0.1', log: () => {} });
  const admin = { authorization: `Bearer ${server.tokens.admin}`, 'content-type': 'application/json' };
  const assigned = (agent: RawAgent) =>
    agent.received.some((m) => {
      const message = m as { type?: string; tasks?: unknown[] };
      return message.type === 'assign' && (message.tasks?.length ?? 0) > 0;
    });
  try {
    const lacking = await joinedAgent(server, 'no-exec', dir);
    lacking.send(hello('no-exec', { protocol_version: 2, features: ['published-ports'], future_field: 1 }));
    await eventually('a welcome', () => lacking.received.length > 0, { timeoutMs: 5000, intervalMs: 10 });
    const deployed = await fetch(`${server.url}/api/deploy`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({
        name: 'checked',
        image: 'skiff-demo:v1',
        health_check: { type: 'exec', command: ['true'] },
      }),
    });
    assert.equal(deployed.status, 201);
    const pending = (await deployed.json()) as { status: string; message: string };
    assert.equal(pending.status, 'pending');
    assert.match(pending.message, /agent lacks feature exec-health/);
    assert.equal(assigned(lacking), false);

    const able = await joinedAgent(server, 'with-exec', dir);
    able.send(hello('with-exec', { protocol_version: 2, features: ['exec-health'] }));
    await eventually('the replica assigned to the able agent', () => assigned(able), {
      timeoutMs: 5000,
      intervalMs: 20,
    });
    assert.equal(assigned(lacking), false, 'never to the one lacking it');
    lacking.socket.close();
    able.socket.close();
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('agents one protocol version either side are accepted; two ahead is refused, saying so', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-protocol-'));
  const server = await startServer({ dataDir: dir, port: 0, listen: '127.0.0.1', log: () => {} });
  const admin = { authorization: `Bearer ${server.tokens.admin}` };
  try {
    for (const [name, version] of [
      ['previous', PROTOCOL_VERSION - 1],
      ['next', PROTOCOL_VERSION + 1],
    ] as const) {
      const agent = await joinedAgent(server, name, dir);
      agent.send(hello(name, { protocol_version: version }));
      await eventually(
        `${name}: a welcome`,
        () => agent.received.some((m) => (m as { type?: string }).type === 'welcome'),
        {
          timeoutMs: 5000,
          intervalMs: 10,
        },
      );
      agent.socket.close();
    }
    const future = await joinedAgent(server, 'future', dir);
    future.send(hello('future', { protocol_version: PROTOCOL_VERSION + 2 }));
    assert.equal(await future.closed, CLOSE_CODES.protocolUnsupported);
    const events = (await (await fetch(`${server.url}/api/events`, { headers: admin })).json()) as {
      message: string;
    }[];
    assert.ok(
      events.some((e) =>
        /Node future refused: agent protocol \d+ is too new .*upgrade the servers first/.test(e.message),
      ),
      JSON.stringify(events.map((e) => e.message)),
    );
    const nodes = (await (await fetch(`${server.url}/api/nodes`, { headers: admin })).json()) as {
      name: string;
      message: string | null;
    }[];
    assert.match(
      nodes.find((n) => n.name === 'future')?.message ?? '',
      /^refused: agent protocol \d+ is too new/,
    );
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
