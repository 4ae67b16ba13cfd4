/**
 * The routes agents use before and beside their WebSocket: `GET /ca.crt` (public: the CA is
 * what a join token's digest pins, so anyone may fetch it and check), `POST /agent/v1/join`
 * (join secret + certificate request → node certificate) and `POST /agent/v1/renew` (the node's
 * current certificate on the TLS connection + a new request → a new certificate). Join and renew
 * only over TLS: the secret and the certificate never cross a plain connection.
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { Hono } from 'hono';
import { z } from 'zod';
import { SERVICE_NAME_PATTERN } from '../model/names.ts';
import { agentRoutesPaths } from './agent-paths.ts';
import { CertificateRequestError } from './certificates.ts';
import type { ClusterPki } from './cluster-pki.ts';
import { NodeCertificateConflictError } from './cluster-pki.ts';

export const joinRequestSchema = z.strictObject({
  secret: z.string().min(1).max(256),
  name: z.string().regex(SERVICE_NAME_PATTERN, 'a node name is a DNS label: a-z, 0-9 and -, at most 63'),
  csr: z.string().max(16_384),
});
export const renewRequestSchema = z.strictObject({ csr: z.string().max(16_384) });
export const certificateAnswerSchema = z.object({ certificate: z.string(), ca: z.string() });

type Env = { Bindings: { incoming: IncomingMessage } };

/** The verified client certificate of a TLS request: its CN (the node name) and serial. */
export function clientIdentity(incoming: IncomingMessage): { name: string; serial: string } | undefined {
  const socket = incoming.socket as Partial<TLSSocket>;
  if (!socket.encrypted || !socket.authorized || !socket.getPeerCertificate) return undefined;
  const cert = socket.getPeerCertificate();
  const name = cert.subject?.CN;
  if (typeof name !== 'string' || !cert.serialNumber) return undefined;
  return { name, serial: cert.serialNumber.toLowerCase() };
}

export function agentRoutes(pki: ClusterPki, log: (message: string) => void): Hono<Env> {
  const app = new Hono<Env>();
  app.get(agentRoutesPaths.ca, (c) =>
    c.text(pki.caBundlePem, 200, { 'content-type': 'application/x-pem-file' }),
  );

  app.post(agentRoutesPaths.join, async (c) => {
    if (!(c.env.incoming.socket as Partial<TLSSocket>).encrypted)
      return c.json({ error: 'join over TLS only' }, 400);
    const parsed = joinRequestSchema.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success)
      return c.json({ error: `bad join request: ${parsed.error.issues[0]?.message}` }, 400);
    if (!pki.joinSecretIs(parsed.data.secret)) {
      return c.json(
        { error: 'wrong join token: take the current one from the server (DIR/join.token)' },
        401,
      );
    }
    try {
      const certificate = await pki.issueForJoin(parsed.data.name, parsed.data.csr);
      log(`node ${parsed.data.name} joined: certificate issued`);
      return c.json({ certificate, ca: pki.caBundlePem });
    } catch (error) {
      return refusal(c, error);
    }
  });

  app.post(agentRoutesPaths.renew, async (c) => {
    const identity = clientIdentity(c.env.incoming);
    if (!identity) return c.json({ error: 'renewal needs the node certificate (mutual TLS)' }, 401);
    const parsed = renewRequestSchema.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) return c.json({ error: 'bad renewal request' }, 400);
    try {
      const certificate = await pki.renew(identity.name, identity.serial, parsed.data.csr);
      return c.json({ certificate, ca: pki.caBundlePem });
    } catch (error) {
      return refusal(c, error);
    }
  });
  return app;
}

function refusal(
  c: { json: (body: unknown, status: 400 | 403 | 409) => Response },
  error: unknown,
): Response {
  if (error instanceof NodeCertificateConflictError) return c.json({ error: error.message }, 409);
  if (error instanceof CertificateRequestError) return c.json({ error: error.message }, 400);
  throw error;
}
