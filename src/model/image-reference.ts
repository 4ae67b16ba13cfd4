/**
 * Image references as Docker parses them (distribution/reference, roughly):
 * `[registry[:port]/]path[/path...][:tag][@algorithm:hex]`, path components lowercase, the name
 * at most 255 characters, the tag at most 128. What Docker would refuse is refused at deploy, not
 * discovered by every agent at pull time.
 */
import { z } from 'zod';

const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const DOMAIN_LABEL = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_LABEL}(?:\\.${DOMAIN_LABEL})*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]+)?`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const REFERENCE = new RegExp(`^(?:${DOMAIN}/)?${COMPONENT}(?:/${COMPONENT})*(?::${TAG})?(?:@${DIGEST})?$`);

/** Docker's limit on the name part (registry and path). */
export const MAX_IMAGE_NAME_CHARS = 255;
/** Name, tag and a sha512 digest, with room to spare. */
export const MAX_IMAGE_REFERENCE_CHARS = 512;

/** The name part of a reference: before the tag and digest. */
function namePart(reference: string): string {
  const withoutDigest = reference.split('@')[0] ?? reference;
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.indexOf(':', lastSlash + 1);
  return colon === -1 ? withoutDigest : withoutDigest.slice(0, colon);
}

export function isImageReference(reference: string): boolean {
  return REFERENCE.test(reference) && namePart(reference).length <= MAX_IMAGE_NAME_CHARS;
}

export const imageReferenceSchema = z
  .string()
  .min(1, { message: 'must not be empty', abort: true })
  // Checked first and alone: a 100k-character value is refused before any pattern looks at it.
  .max(MAX_IMAGE_REFERENCE_CHARS, {
    message: `must be at most ${MAX_IMAGE_REFERENCE_CHARS} characters`,
    abort: true,
  })
  .refine((value) => !/[\s\p{Cc}]/u.test(value), {
    message: 'must not contain spaces or control characters',
    abort: true,
  })
  .refine(isImageReference, {
    message:
      'must be an image reference such as "nginx:1.27", "registry.example.com:5000/team/app:v2" or "app@sha256:<hex>" (lowercase path)',
  });
