/**
 * One JSON (or text) request over HTTPS with explicit trust: the CA bundle to verify the server
 * with (by the agents' name, agent-tls.ts), and optionally the client's key and certificate.
 */
import { request } from 'node:https';
import { agentTlsOptions } from './agent-tls.ts';

export interface TlsTrust {
  /** PEM bundle the server must chain to; absent only to fetch the CA itself (see node-identity.ts). */
  readonly ca?: string;
  readonly key?: string;
  readonly cert?: string;
}

export interface HttpsAnswer {
  readonly status: number;
  readonly text: string;
}

const TIMEOUT_MS = 10_000;

export function httpsRequest(
  url: URL,
  options: { method: 'GET' | 'POST'; trust: TlsTrust; body?: unknown },
): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = request(
      url,
      {
        method: options.method,
        timeout: TIMEOUT_MS,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        ...(options.trust.ca === undefined
          ? // Only GET /ca.crt goes unverified: what it returns is checked against the token's digest.
            { rejectUnauthorized: false }
          : { ca: options.trust.ca, ...agentTlsOptions(url) }),
        ...(options.trust.key === undefined ? {} : { key: options.trust.key, cert: options.trust.cert }),
        agent: false,
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
        response.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url.origin} within ${TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}
