/**
 * The cluster's TLS over real sockets and a real server process (no Docker needed): the real
 * `curl` over https with and without the cluster CA, plain HTTP from loopback and from a
 * non-loopback peer (a network namespace of this test's own), an agent that meets a CA other
 * than its token's, an agent that presents node A's certificate while claiming node B, one
 * connection being one node, `skiff node rm` revoking a certificate, join-token and CA rotation.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import WebSocket from 'ws';
import { AGENT_PATH, CLOSE_CODES } from '../src/protocol/messages.ts';
import { formatJoinToken, parseJoinToken } from '../src/security/join-token.ts';
import {
  CaDigestMismatchError,
  JoinRefusedError,
  joinCluster,
  type NodeIdentity,
  renewIdentity,
} from '../src/security/node-identity.ts';
import { eventually } from './support/eventually.ts';
import { SkiffCluster } from './support/skiff-cluster.ts';

const run = promisify(execFile);
// A /30 of our own, so nothing of the shared lab is touched; removed in after().
const NETNS = `skiff-tls-test-${process.pid}`;
const OCTET = 100 + (process.pid % 100);
const HOST_ADDRESS = `10.77.${OCTET}.1`;
const NS_ADDRESS = `10.77.${OCTET}.2`;
const VETH = `sktls${process.pid % 100000}`;

let skiff: SkiffCluster;
const agentDirs: string[] = [];

async function ip(...args: string[]): Promise<void> {
  await run('ip', args);
}

before(async () => {
  await ip('netns', 'add', NETNS);
  await ip('link', 'add', VETH, 'type', 'veth', 'peer', 'name', `${VETH}p`);
  await ip('link', 'set', `${VETH}p`, 'netns', NETNS);
  await ip('addr', 'add', `${HOST_ADDRESS}/30`, 'dev', VETH);
  await ip('link', 'set', VETH, 'up');
  await ip('-n', NETNS, 'addr', 'add', `${NS_ADDRESS}/30`, 'dev', `${VETH}p`);
  await ip('-n', NETNS, 'link', 'set', `${VETH}p`, 'up');
  await ip('-n', NETNS, 'link', 'set', 'lo', 'up');
  // Every address of the host, the veth's included (in the serving certificate's names too).
  skiff = await SkiffCluster.startServerOnly('0.0.0.0');
});

after(async () => {
  await skiff?.stop();
  for (const dir of agentDirs) rmSync(dir, { recursive: true, force: true });
  await run('ip', ['link', 'del', VETH]).catch(() => {});
  await run('ip', ['netns', 'del', NETNS]).catch(() => {});
});

/** curl in this test's namespace (a peer that is not loopback), or on the host. */
async function curl(args: string[], { inNamespace = false } = {}): Promise<{ code: number; out: string }> {
  const argv = inNamespace
    ? ['nsenter', `--net=/var/run/netns/${NETNS}`, 'curl', ...args]
    : ['curl', ...args];
  try {
    const { stdout } = await run(argv[0] ?? 'curl', argv.slice(1));
    return { code: 0, out: stdout };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, out: `${failed.stdout}${failed.stderr}` };
  }
}

const auth = () => ['-H', `Authorization: Bearer ${skiff.token}`];

test('made at first start: CA, serving certificate and keys 0600 in a 0700 data dir, skiff.db 0600', () => {
  assert.equal(statSync(skiff.dataDir).mode & 0o777, 0o700);
  for (const file of [
    'ca.crt',
    'ca.key',
    'server.crt',
    'server.key',
    'join.token',
    'admin.token',
    'skiff.db',
  ]) {
    assert.equal(statSync(join(skiff.dataDir, file)).mode & 0o777, 0o600, file);
  }
  assert.match(skiff.joinToken, /^SKIFF-1-[0-9a-f]{64}-/);
});

test('curl over https with the cluster CA works; without it the certificate is refused', async () => {
  const url = `https://${HOST_ADDRESS}:${skiff.port}/api/nodes`;
  const trusted = await curl(['-sS', '--fail', '--cacert', skiff.caPath, ...auth(), url]);
  assert.equal(trusted.code, 0, trusted.out);
  assert.equal(trusted.out.trim(), '[]');
  const untrusted = await curl(['-sS', ...auth(), url]);
  assert.equal(untrusted.code, 60, untrusted.out); // CURLE_PEER_FAILED_VERIFICATION
  const fromElsewhere = await curl(['-sS', '--fail', '--cacert', skiff.caPath, ...auth(), url], {
    inNamespace: true,
  });
  assert.equal(fromElsewhere.code, 0, fromElsewhere.out);
});

test('plain HTTP works from loopback and is refused, saying to use https, from any other address', async () => {
  const local = await curl(['-sS', '--fail', ...auth(), `http://127.0.0.1:${skiff.port}/api/nodes`]);
  assert.equal(local.code, 0, local.out);
  const remote = await curl(
    ['-sS', '-w', '%{http_code}', ...auth(), `http://${HOST_ADDRESS}:${skiff.port}/api/nodes`],
    {
      inNamespace: true,
    },
  );
  assert.match(remote.out, /use https:\/\//);
  assert.match(remote.out, /400$/);
  assert.doesNotMatch(remote.out, /\[\]/);
});

function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-tls-agent-'));
  agentDirs.push(dir);
  return dir;
}

test('an agent whose token pins another CA refuses to join and sends nothing', async () => {
  const { secret } = parseJoinToken(skiff.joinToken);
  const wrong = formatJoinToken({ caDigest: 'ab'.repeat(32), secret });
  await assert.rejects(
    joinCluster({ serverUrl: skiff.url, token: wrong, nodeName: 'node-x', dataDir: freshDir() }),
    CaDigestMismatchError,
  );
  // The secret was never sent: the server issued nothing and knows no node-x.
  assert.equal(skiff.metaValue('node_cert:node-x'), undefined);
});

/** Opens the agent WebSocket with `identity`'s certificate; resolves with the close or welcome. */
function dial(
  identity: NodeIdentity,
  hellos: string[],
): Promise<{ welcome: boolean; code?: number; status?: number; reason?: string }> {
  const socket = new WebSocket(`wss://127.0.0.1:${skiff.port}${AGENT_PATH}`, {
    ca: identity.caPem,
    cert: identity.certPem,
    key: identity.keyPem,
  });
  return new Promise((resolve, reject) => {
    let welcomed = false;
    socket.on('open', () => {
      for (const name of hellos) {
        socket.send(
          JSON.stringify({
            type: 'hello',
            node: {
              name,
              engine_id: `engine-${name}`,
              address: '127.0.0.1',
              labels: {},
              cpu_millicores: 1000,
              memory_bytes: 1 << 30,
              engine_version: 'test',
            },
            agent_version: 'test',
            cluster_id: null,
          }),
        );
      }
    });
    socket.on('message', (data) => {
      if (String(data).includes('"welcome"')) welcomed = true;
      if (welcomed && hellos.length === 1) {
        socket.close(1000);
        resolve({ welcome: true });
      }
    });
    socket.on('unexpected-response', (_request, response) => {
      resolve({ welcome: false, status: response.statusCode ?? 0 });
      socket.terminate();
    });
    socket.on('close', (code, reason) => resolve({ welcome: welcomed, code, reason: String(reason) }));
    socket.on('error', (error) => {
      if (!String(error).includes('closed before the connection')) reject(error);
    });
  });
}

test("a connection on node A's certificate cannot say hello as node B, nor twice; the join token cannot take A's name", async () => {
  const a = await joinCluster({
    serverUrl: skiff.url,
    token: skiff.joinToken,
    nodeName: 'node-a',
    dataDir: freshDir(),
  });
  await joinCluster({
    serverUrl: skiff.url,
    token: skiff.joinToken,
    nodeName: 'node-b',
    dataDir: freshDir(),
  });

  const asB = await dial(a, ['node-b']);
  assert.equal(asB.code, CLOSE_CODES.identityMismatch, JSON.stringify(asB));
  assert.match(asB.reason ?? '', /node node-a's/);

  const twice = await dial(a, ['node-a', 'node-a']);
  assert.equal(twice.code, CLOSE_CODES.badMessage, JSON.stringify(twice));

  await assert.rejects(
    joinCluster({ serverUrl: skiff.url, token: skiff.joinToken, nodeName: 'node-a', dataDir: freshDir() }),
    (error: unknown) => error instanceof JoinRefusedError && error.status === 409,
  );

  // Without a certificate the agent door is shut, loopback included.
  const bare = await new Promise<number>((resolve) => {
    const socket = new WebSocket(`wss://127.0.0.1:${skiff.port}${AGENT_PATH}`, { ca: a.caPem });
    socket.on('unexpected-response', (_q, response) => {
      resolve(response.statusCode ?? 0);
      socket.terminate();
    });
    socket.on('open', () => resolve(-1));
    socket.on('error', () => {});
  });
  assert.equal(bare, 401);
});

test('node rm revokes the node certificate; the name can join again', async () => {
  const dir = freshDir();
  const c = await joinCluster({
    serverUrl: skiff.url,
    token: skiff.joinToken,
    nodeName: 'node-c',
    dataDir: dir,
  });
  const first = await dial(c, ['node-c']);
  assert.equal(first.welcome, true, JSON.stringify(first));
  await eventually('node-c disconnected', async () => {
    const result = await skiff.api('DELETE', '/api/nodes/node-c');
    return result.status === 200;
  });
  const after = await dial(c, ['node-c']);
  assert.equal(after.status, 401, JSON.stringify(after));
  const again = await joinCluster({
    serverUrl: skiff.url,
    token: skiff.joinToken,
    nodeName: 'node-c',
    dataDir: dir,
  });
  assert.equal((await dial(again, ['node-c'])).welcome, true);
});

test('rotating the join token refuses the old one and leaves joined nodes alone', async () => {
  const d = await joinCluster({
    serverUrl: skiff.url,
    token: skiff.joinToken,
    nodeName: 'node-d',
    dataDir: freshDir(),
  });
  const old = skiff.joinToken;
  const rotated = await skiff.cli(['token', 'rotate', 'join']);
  assert.equal(rotated.code, 0, rotated.stderr);
  const fresh = readFileSync(join(skiff.dataDir, 'join.token'), 'utf8').trim();
  assert.notEqual(fresh, old);
  assert.equal(rotated.stdout.trim(), fresh);
  assert.equal(parseJoinToken(fresh).caDigest, parseJoinToken(old).caDigest);
  await assert.rejects(
    joinCluster({ serverUrl: skiff.url, token: old, nodeName: 'node-e', dataDir: freshDir() }),
    (error: unknown) => error instanceof JoinRefusedError && error.status === 401,
  );
  assert.equal((await dial(d, ['node-d'])).welcome, true);
});

test('ca rotate: old and new CA both trusted, old node certificates accepted, renewal moves a node onto the new CA, the old token is refused', async () => {
  const r = await joinCluster({
    serverUrl: skiff.url,
    token: skiff.joinToken,
    nodeName: 'node-r',
    dataDir: freshDir(),
  });
  const oldToken = skiff.joinToken;
  const oldCaFile = join(freshDir(), 'old-ca.crt');
  writeFileSync(oldCaFile, readFileSync(skiff.caPath));

  const rotated = await skiff.cli(['ca', 'rotate']);
  assert.equal(rotated.code, 0, rotated.stderr);
  const newToken = rotated.stdout.trim();
  assert.equal(readFileSync(join(skiff.dataDir, 'join.token'), 'utf8').trim(), newToken);
  assert.notEqual(parseJoinToken(newToken).caDigest, parseJoinToken(oldToken).caDigest);
  assert.equal(readFileSync(skiff.caPath, 'utf8').match(/BEGIN CERTIFICATE/g)?.length, 2);

  // A client holding only the old CA still verifies the server (new CA cross-signed by the old).
  const url = `https://${HOST_ADDRESS}:${skiff.port}/api/nodes`;
  for (const ca of [oldCaFile, skiff.caPath]) {
    const answer = await curl(['-sS', '--fail', '--cacert', ca, ...auth(), url]);
    assert.equal(answer.code, 0, `${ca}: ${answer.out}`);
  }
  assert.equal((await dial(r, ['node-r'])).welcome, true);

  // The old CA is still trusted, so the agent goes on, but the secret was reissued too.
  await assert.rejects(
    joinCluster({ serverUrl: skiff.url, token: oldToken, nodeName: 'node-s', dataDir: freshDir() }),
    (error: unknown) => error instanceof JoinRefusedError && error.status === 401,
  );
  const renewed = await renewIdentity({
    serverUrl: skiff.url,
    nodeName: 'node-r',
    dataDir: freshDir(),
    identity: r,
  });
  const newCa = new X509Certificate(
    readFileSync(skiff.caPath, 'utf8').split(/(?<=-----END CERTIFICATE-----)/)[0] ?? '',
  );
  assert.ok(new X509Certificate(renewed.certPem).verify(newCa.publicKey), 'renewed by the new CA');
  assert.equal((await dial(renewed, ['node-r'])).welcome, true);
  const s = await joinCluster({
    serverUrl: skiff.url,
    token: newToken,
    nodeName: 'node-s',
    dataDir: freshDir(),
  });
  assert.equal((await dial(s, ['node-s'])).welcome, true);
});
