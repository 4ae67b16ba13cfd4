/**
 * AES-256-GCM sealing of secret values under the cluster key. Each value gets a fresh 96-bit IV;
 * the additional data binds a ciphertext to its kind, name and version, so a sealed value copied
 * onto another secret's row fails to open instead of passing for it.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const IV_BYTES = 12;
const TAG_BYTES = 16;
export const KEY_BYTES = 32;

export class SealedBoxError extends Error {
  override readonly name = 'SealedBoxError';
}

/** base64 of iv ‖ tag ‖ ciphertext. */
export function seal(key: Buffer, plaintext: Buffer, additionalData: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(additionalData));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64');
}

export function open(key: Buffer, sealed: string, additionalData: string): Buffer {
  const bytes = Buffer.from(sealed, 'base64');
  if (bytes.length < IV_BYTES + TAG_BYTES) throw new SealedBoxError('sealed value is too short');
  const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
  decipher.setAAD(Buffer.from(additionalData));
  decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
  } catch {
    throw new SealedBoxError('sealed value does not open with this cluster key (wrong key, or tampered)');
  }
}
