/**
 * The join token: `SKIFF-1-<digest>-<secret>`. The digest is the SHA-256 of the cluster CA's
 * DER (hex), so an agent can check the CA it is shown before it sends the secret; the secret
 * (base64url, 192 bits) is what the server checks. Swarm's `SWMTKN-1-<digest>-<secret>` is the
 * model. The version number lets the format change later.
 */
import { randomBytes } from 'node:crypto';

const PATTERN = /^SKIFF-1-([0-9a-f]{64})-([A-Za-z0-9_-]{16,})$/;

export interface JoinToken {
  readonly caDigest: string;
  readonly secret: string;
}

export class JoinTokenFormatError extends Error {
  override readonly name = 'JoinTokenFormatError';
}

export function formatJoinToken(token: JoinToken): string {
  return `SKIFF-1-${token.caDigest}-${token.secret}`;
}

export function parseJoinToken(text: string): JoinToken {
  const match = text.trim().match(PATTERN);
  if (!match?.[1] || !match[2]) {
    throw new JoinTokenFormatError(
      "a join token looks like SKIFF-1-<64 hex digits>-<secret>: take it from the server's DIR/join.token",
    );
  }
  return { caDigest: match[1], secret: match[2] };
}

export function newJoinSecret(): string {
  return randomBytes(24).toString('base64url');
}
