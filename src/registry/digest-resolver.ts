/**
 * Resolves a tag to its manifest digest against the registry, once per deploy (the server pins
 * every replica to it, as Swarm does). HTTPS only, trusting what this host's Docker engine trusts
 * for that registry (`/etc/docker/certs.d/HOST/ca.crt`, beside the system's CAs), with the
 * registry's credential when one was stored. Every failure is a value (`unresolved` with the
 * reason): a deploy never fails because a registry is away.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';
import type { ImageParts } from '../model/image-parts.ts';
import { imageParts } from '../model/image-parts.ts';
import {
  digestFrom,
  MANIFEST_ACCEPT,
  manifestUrl,
  parseChallenge,
  tokenFrom,
  tokenUrl,
} from './manifest-request.ts';
import type { RegistryCredential } from './registry-auth.ts';
import { basicAuthorization } from './registry-auth.ts';

export type Resolution =
  | { readonly kind: 'resolved'; readonly digest: string }
  /** `reachable` false: no answer at all (down, refused, timed out, TLS); true: it answered no. */
  | { readonly kind: 'unresolved'; readonly reachable: boolean; readonly reason: string };

export interface DigestResolver {
  resolve(reference: string, credential: RegistryCredential | undefined): Promise<Resolution>;
}

export interface HttpsDigestResolverOptions {
  /** Where the engine's per-registry CAs are (`/etc/docker/certs.d`). */
  readonly certsDir?: string;
  /** For the whole resolution, token request included. */
  readonly timeoutMs?: number;
}

interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

class UnreachableError extends Error {
  override readonly name = 'UnreachableError';
}

/** Manifests and token answers are small; a registry sending more is not answering this question. */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

export class HttpsDigestResolver implements DigestResolver {
  readonly #certsDir: string;
  readonly #timeoutMs: number;

  constructor(options: HttpsDigestResolverOptions = {}) {
    this.#certsDir = options.certsDir ?? '/etc/docker/certs.d';
    this.#timeoutMs = options.timeoutMs ?? 5000;
  }

  async resolve(reference: string, credential: RegistryCredential | undefined): Promise<Resolution> {
    const parts = imageParts(reference);
    if (parts.digest !== null) return { kind: 'resolved', digest: parts.digest };
    const deadline = Date.now() + this.#timeoutMs;
    try {
      const url = manifestUrl(parts);
      let answer = await this.#ask('HEAD', url, parts, undefined, deadline);
      if (answer.status === 401) {
        const authorization = await this.#authorize(answer, parts, credential, deadline);
        if (authorization === undefined)
          return refused(parts, credential, answer.status, 'the registry asks for a credential');
        answer = await this.#ask('HEAD', url, parts, authorization, deadline);
        if (answer.status === 405 || (answer.status === 200 && !answer.headers['docker-content-digest']))
          answer = await this.#ask('GET', url, parts, authorization, deadline);
      } else if (
        answer.status === 405 ||
        (answer.status === 200 && !answer.headers['docker-content-digest'])
      ) {
        answer = await this.#ask('GET', url, parts, undefined, deadline);
      }
      if (answer.status !== 200) return refused(parts, credential, answer.status, statusText(answer.status));
      const header = answer.headers['docker-content-digest'];
      const digest = digestFrom(typeof header === 'string' ? header : undefined, answer.body);
      if (!digest)
        return { kind: 'unresolved', reachable: true, reason: 'the registry answered without a digest' };
      return { kind: 'resolved', digest };
    } catch (error) {
      return {
        kind: 'unresolved',
        reachable: false,
        reason: error instanceof Error ? error.message : String(error),
      };
    }
  }

  /** The Authorization for a 401's challenge: Basic with the credential, or a Bearer token got with it. */
  async #authorize(
    answer: Answer,
    parts: ImageParts,
    credential: RegistryCredential | undefined,
    deadline: number,
  ): Promise<string | undefined> {
    const header = answer.headers['www-authenticate'];
    const challenge = parseChallenge(Array.isArray(header) ? header[0] : header);
    if (!challenge) return undefined;
    if (challenge.scheme === 'basic') return credential ? basicAuthorization(credential) : undefined;
    const token = await this.#ask(
      'GET',
      tokenUrl(challenge, parts),
      parts,
      credential ? basicAuthorization(credential) : undefined,
      deadline,
    );
    if (token.status !== 200) return undefined;
    let body: unknown;
    try {
      body = JSON.parse(token.body.toString('utf8'));
    } catch {
      return undefined;
    }
    const value = tokenFrom(body);
    return value ? `Bearer ${value}` : undefined;
  }

  #ask(
    method: 'HEAD' | 'GET',
    url: string,
    parts: ImageParts,
    authorization: string | undefined,
    deadline: number,
  ): Promise<Answer> {
    const timeoutMs = Math.max(1, deadline - Date.now());
    const target = new URL(url);
    // The engine's CA for the registry applies to the registry's own host only, not a token realm elsewhere.
    const ca = target.host === parts.registry ? this.#caFor(parts.registry) : undefined;
    return new Promise((resolve, reject) => {
      const request = httpsRequest(
        target,
        {
          method,
          headers: { Accept: MANIFEST_ACCEPT, ...(authorization ? { Authorization: authorization } : {}) },
          ...(ca ? { ca } : {}),
          timeout: timeoutMs,
          signal: AbortSignal.timeout(timeoutMs),
        },
        (response) => {
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_ANSWER_BYTES) response.destroy(new Error('answer too large'));
            else chunks.push(chunk);
          });
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              headers: response.headers,
              body: Buffer.concat(chunks),
            }),
          );
          response.on('error', (error) => reject(new UnreachableError(`${target.host}: ${error.message}`)));
        },
      );
      request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      request.on('error', (error) => reject(new UnreachableError(`${target.host}: ${error.message}`)));
      request.end();
    });
  }

  #caFor(registry: string): string[] | undefined {
    const file = `${this.#certsDir}/${registry}/ca.crt`;
    if (!existsSync(file)) return undefined;
    return [...rootCertificates, readFileSync(file, 'utf8')];
  }
}

function refused(
  parts: ImageParts,
  credential: RegistryCredential | undefined,
  status: number,
  what: string,
): Resolution {
  const login =
    status === 401 || status === 403
      ? credential
        ? ` (the stored credential of ${credential.username} was refused)`
        : ` (no credential stored: skiff registry login ${parts.registry})`
      : '';
  return { kind: 'unresolved', reachable: true, reason: `${what}: HTTP ${status}${login}` };
}

function statusText(status: number): string {
  if (status === 404) return 'no such tag or repository';
  if (status === 401 || status === 403) return 'the registry refused access';
  return 'the registry answered with an error';
}
