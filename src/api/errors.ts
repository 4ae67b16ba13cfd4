/**
 * Errors the API answers with: small named classes carrying the HTTP status, mapped to a JSON
 * body `{ "error": ..., "details": [...] }` by one handler in app.ts.
 */
import type { ZodError } from 'zod';
import { truncateText } from '../model/bounds.ts';

export class HttpError extends Error {
  override readonly name: string = 'HttpError';
  readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 429 | 503;
  readonly details: string[] | undefined;
  constructor(status: HttpError['status'], message: string, details?: string[]) {
    super(message);
    this.status = status;
    this.details = details;
  }
}

export class NotFoundError extends HttpError {
  override readonly name = 'NotFoundError';
  constructor(what: string) {
    super(404, `${what} not found`);
  }
}

/** At most this many problems are listed: a body of 500k bad values gets a small answer. */
export const MAX_DETAILS = 20;
const MAX_DETAIL_CHARS = 300;

/**
 * A body or parameter that fails its schema: the first problems named by their field in
 * `details`, the rest counted; `error` names the first only, so nothing is said twice.
 */
export class ValidationError extends HttpError {
  override readonly name = 'ValidationError';
  constructor(what: string, error: ZodError) {
    const issues = error.issues;
    const details = issues.slice(0, MAX_DETAILS).map((issue) => {
      const field = issue.path.map(String).join('.');
      return truncateText(field === '' ? issue.message : `${field}: ${issue.message}`, MAX_DETAIL_CHARS);
    });
    if (issues.length > MAX_DETAILS) details.push(`… and ${issues.length - MAX_DETAILS} more problems`);
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more, see details)` : '';
    super(400, `invalid ${what}: ${details[0] ?? 'rejected'}${more}`, details);
  }
}
