/**
 * The agent's side of the cluster's trust: its node certificate, key and the CA bundle, kept in
 * its data dir (mode 0600), got once with the join token and renewed with the certificate itself.
 *
 * Joining: fetch `GET /ca.crt` (unverified), check that one of its certificates has the digest
 * the token carries (else a man in the middle is answering: refuse, sending nothing), make a key
 * and a request, and only then send the secret over TLS verified against that CA.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { agentRoutesPaths } from './agent-paths.ts';
import { certificateDigest, certificateFacts } from './certificate-facts.ts';
import { httpsRequest } from './https-json.ts';
import { parseJoinToken } from './join-token.ts';
import { createNodeRequest } from './node-request.ts';
import { splitPemBundle } from './pem.ts';
import { ensurePrivateDir, readTextIfExists, writePrivateFile } from './private-files.ts';
import { renewalDueAtMs } from './renewal.ts';

export interface NodeIdentity {
  readonly keyPem: string;
  readonly certPem: string;
  /** Trusted CAs, PEM bundle. */
  readonly caPem: string;
}

export class CaDigestMismatchError extends Error {
  override readonly name = 'CaDigestMismatchError';
}

/** The server refused to certify this node; retrying as is will not help. */
export class JoinRefusedError extends Error {
  override readonly name = 'JoinRefusedError';
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

const answerSchema = z.object({ certificate: z.string(), ca: z.string() });
const errorSchema = z.object({ error: z.string() });

const FILES = { key: 'node.key', cert: 'node.crt', ca: 'ca.crt' } as const;

export function loadIdentity(dataDir: string): NodeIdentity | undefined {
  const keyPem = readTextIfExists(join(dataDir, FILES.key));
  const certPem = readTextIfExists(join(dataDir, FILES.cert));
  const caPem = readTextIfExists(join(dataDir, FILES.ca));
  return keyPem && certPem && caPem ? { keyPem, certPem, caPem } : undefined;
}

function saveIdentity(dataDir: string, identity: NodeIdentity): void {
  ensurePrivateDir(dataDir);
  writePrivateFile(join(dataDir, FILES.key), identity.keyPem);
  writePrivateFile(join(dataDir, FILES.cert), identity.certPem);
  writePrivateFile(join(dataDir, FILES.ca), identity.caPem);
}

/** Does the saved identity belong to the cluster this token joins (its CA among ours)? */
export function identityMatchesToken(identity: NodeIdentity, token: string): boolean {
  const { caDigest } = parseJoinToken(token);
  return splitPemBundle(identity.caPem).some((pem) => certificateDigest(pem) === caDigest);
}

export async function joinCluster(input: {
  readonly serverUrl: string;
  readonly token: string;
  readonly nodeName: string;
  /** Where to keep the identity; none keeps it in memory only (the simulator's agents). */
  readonly dataDir: string | undefined;
}): Promise<NodeIdentity> {
  const { caDigest, secret } = parseJoinToken(input.token);
  const base = httpsBase(input.serverUrl);
  const fetched = await httpsRequest(new URL(agentRoutesPaths.ca, base), { method: 'GET', trust: {} });
  const bundle = splitPemBundle(fetched.text);
  if (fetched.status !== 200 || !bundle.some((pem) => certificateDigest(pem) === caDigest)) {
    throw new CaDigestMismatchError(
      `the CA served by ${base.origin} does not match the join token's digest ${caDigest.slice(0, 16)}…: not joining (wrong server, an old token after "skiff ca rotate", or someone in between)`,
    );
  }
  const caPem = bundle.join('\n');
  const { keyPem, csrPem } = createNodeRequest(input.nodeName);
  const answer = await httpsRequest(new URL(agentRoutesPaths.join, base), {
    method: 'POST',
    trust: { ca: caPem },
    body: { secret, name: input.nodeName, csr: csrPem },
  });
  const certified = parseAnswer(answer, 'join');
  const identity = { keyPem, certPem: certified.certificate, caPem: certified.ca };
  if (input.dataDir !== undefined) saveIdentity(input.dataDir, identity);
  return identity;
}

export async function renewIdentity(input: {
  readonly serverUrl: string;
  readonly nodeName: string;
  readonly dataDir: string;
  readonly identity: NodeIdentity;
}): Promise<NodeIdentity> {
  const { keyPem, csrPem } = createNodeRequest(input.nodeName);
  const answer = await httpsRequest(new URL(agentRoutesPaths.renew, httpsBase(input.serverUrl)), {
    method: 'POST',
    trust: { ca: input.identity.caPem, key: input.identity.keyPem, cert: input.identity.certPem },
    body: { csr: csrPem },
  });
  const certified = parseAnswer(answer, 'renewal');
  const identity = { keyPem, certPem: certified.certificate, caPem: certified.ca };
  saveIdentity(input.dataDir, identity);
  return identity;
}

export function renewalDueMs(identity: NodeIdentity): number {
  const facts = certificateFacts(identity.certPem);
  return renewalDueAtMs(facts.validFromMs, facts.validToMs);
}

/** Agents always speak TLS: the same port serves both, and http:// in --server means that port. */
export function httpsBase(serverUrl: string): URL {
  const url = new URL(serverUrl);
  url.protocol = 'https:';
  return url;
}

function parseAnswer(answer: { status: number; text: string }, what: string): z.infer<typeof answerSchema> {
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch {
    body = undefined;
  }
  if (answer.status === 200) {
    const parsed = answerSchema.safeParse(body);
    if (parsed.success) return parsed.data;
  }
  const error = errorSchema.safeParse(body);
  throw new JoinRefusedError(
    answer.status,
    `${what} refused (${answer.status}): ${error.success ? error.data.error : answer.text.slice(0, 200)}`,
  );
}
