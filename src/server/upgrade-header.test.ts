/**
 * Requests that carry an `Upgrade` header but are not the agents' WebSocket (curl --http2 sends
 * an h2c upgrade on every request) are served as plain HTTP/1.1, over a real socket.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { RunningServer } from './skiff-server.ts';
import { startServer } from './skiff-server.ts';

let dir: string;
let server: RunningServer;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-upgrade-'));
  server = await startServer({ dataDir: dir, port: 0, listen: '127.0.0.1', log: () => {} });
});
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Sends one raw request and returns the status line and body of the answer. */
function rawRequest(
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => {
      text += chunk;
    });
    socket.on('end', () => resolve({ status: Number(text.split(' ')[1]), text }));
    socket.on('error', reject);
    const lines = Object.entries({ Host: `${hostname}:${port}`, Connection: 'close', ...headers }).map(
      ([k, v]) => `${k}: ${v}`,
    );
    socket.write(`GET ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`);
  });
}

const h2c = {
  Connection: 'Upgrade, HTTP2-Settings, close',
  Upgrade: 'h2c',
  'HTTP2-Settings': 'AAMAAABkAARAAAAAAAIAAAAA',
};

test('an h2c upgrade on /healthz and on an API route is answered as plain HTTP', async () => {
  const health = await rawRequest('/healthz', h2c);
  assert.equal(health.status, 200, health.text);
  assert.match(health.text, /"status":"ok"/);
  const services = await rawRequest('/api/services', {
    ...h2c,
    Authorization: `Bearer ${server.tokens.admin}`,
  });
  assert.equal(services.status, 200, services.text);
  assert.match(services.text, /\[\]/);
});

test('a WebSocket upgrade to a route that is not the agents is a plain request too', async () => {
  const res = await rawRequest('/healthz', {
    Connection: 'Upgrade, close',
    Upgrade: 'websocket',
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
  });
  assert.equal(res.status, 200, res.text);
});

test('the agent path without the join token is still refused by the upgrade handler', async () => {
  const res = await rawRequest('/agent/v1', {
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
  });
  assert.equal(res.status, 401, res.text);
});
