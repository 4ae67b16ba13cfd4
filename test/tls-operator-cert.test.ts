/**
 * A server given an operator's certificate (`--tls-cert/--tls-key`, from a CA that is not the
 * cluster's): people are served it (curl verifies it with the operator's CA, not the cluster's),
 * while agents, asking by SNI for the agents' name, are served the cluster's own certificate and
 * verify it against the CA their join token pins. So a real agent joins, connects over mutual
 * TLS and its node turns ready, with no operator CA given to it; and a client that trusts only
 * the operator's CA and asks for the agents' name is refused (that certificate is the cluster's).
 * Real server process and sockets; the agent runs on a fake engine (no Docker needed).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect } from 'node:tls';
import { promisify } from 'node:util';
import { Agent } from '../src/agent/agent.ts';
import { nodeViewSchema } from '../src/model/views.ts';
import { createCa, issueServingCertificate } from '../src/security/certificates.ts';
import { AGENT_SERVERNAME } from '../src/security/serving-names.ts';
import { FakeEngine } from '../src/sim/fake-engine.ts';
import { eventually } from './support/eventually.ts';
import { SkiffCluster } from './support/skiff-cluster.ts';

const run = promisify(execFile);
const DAY_MS = 86_400_000;
const dir = mkdtempSync(join(tmpdir(), 'skiff-operator-cert-'));
const operatorCaPath = join(dir, 'operator-ca.crt');
let skiff: SkiffCluster;
let agent: Agent | undefined;

before(async () => {
  const operatorCa = await createCa('operator', Date.now(), 365 * DAY_MS);
  const serving = await issueServingCertificate({
    ca: operatorCa,
    names: ['127.0.0.1', 'localhost'],
    now: Date.now(),
    lifetimeMs: 30 * DAY_MS,
  });
  writeFileSync(operatorCaPath, operatorCa.certPem);
  writeFileSync(join(dir, 'tls.crt'), serving.certPem);
  writeFileSync(join(dir, 'tls.key'), serving.keyPem, { mode: 0o600 });
  skiff = await SkiffCluster.startServerOnly('127.0.0.1', [
    '--tls-cert',
    join(dir, 'tls.crt'),
    '--tls-key',
    join(dir, 'tls.key'),
  ]);
});

after(async () => {
  agent?.stop();
  await skiff?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function curl(cacert: string): Promise<{ ok: boolean; out: string }> {
  try {
    const { stdout } = await run('curl', [
      '-sS',
      '--cacert',
      cacert,
      `https://127.0.0.1:${skiff.port}/healthz`,
    ]);
    return { ok: true, out: stdout };
  } catch (error) {
    return { ok: false, out: String((error as { stderr?: string }).stderr ?? error) };
  }
}

/** The certificate the server presents to a client asking for `servername`, verified against `ca`. */
function presented(servername: string, ca: string): Promise<{ issuer: string; authorized: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      { host: '127.0.0.1', port: skiff.port, servername, ca, rejectUnauthorized: false },
      () => {
        const issuer = socket.getPeerCertificate().issuer?.CN ?? '';
        resolve({ issuer: String(issuer), authorized: socket.authorized });
        socket.end();
      },
    );
    socket.on('error', reject);
  });
}

test('people are served the operator’s certificate, agents the cluster’s', async () => {
  const withOperatorCa = await curl(operatorCaPath);
  assert.equal(withOperatorCa.ok, true, withOperatorCa.out);
  const withClusterCa = await curl(skiff.caPath);
  assert.equal(withClusterCa.ok, false, 'the API is not served the cluster certificate');

  const forPeople = await presented('localhost', skiff.caPem());
  assert.equal(forPeople.authorized, false);
  const forAgents = await presented(AGENT_SERVERNAME, skiff.caPem());
  assert.equal(forAgents.authorized, true, 'the agents’ name gets a certificate of the cluster CA');
  const agentsWithOperatorCa = await presented(AGENT_SERVERNAME, readFileSync(operatorCaPath, 'utf8'));
  assert.equal(agentsWithOperatorCa.authorized, false);
});

test('an agent joins and connects over mutual TLS, verifying the server by the join token’s CA', async () => {
  const logs: string[] = [];
  agent = new Agent({
    serverUrls: [`https://127.0.0.1:${skiff.port}`],
    joinToken: skiff.joinToken,
    engine: new FakeEngine(),
    name: 'op-node',
    dataDir: join(dir, 'agent'),
    dataPlane: false,
    log: (message) => logs.push(message),
  });
  await agent.start();
  await eventually(
    'op-node ready',
    async () => {
      const nodes = nodeViewSchema.array().parse((await skiff.api('GET', '/api/nodes')).body);
      return nodes.some((n) => n.name === 'op-node' && n.status === 'ready');
    },
    { timeoutMs: 20_000 },
  ).catch((error: unknown) => {
    throw new Error(`${String(error)}\nagent log:\n${logs.join('\n')}`);
  });
  assert.ok(logs.includes('registered as op-node'), logs.join('\n'));
  // The link's TLS share of a connect, as bench:failover reads it from an agent's log.
  assert.ok(
    logs.some((line) =>
      /^connected to 127\.0\.0\.1:\d+ over mutual TLS in \d+ ms \(full handshake; TCP \d+ ms\)$/.test(line),
    ),
    logs.join('\n'),
  );
});
