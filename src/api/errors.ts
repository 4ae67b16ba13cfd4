/**
 * Errors the API answers with: small named classes carrying the HTTP status, mapped to a JSON
 * body `{ "error": ..., "details": [...] }` by one handler in app.ts.
 */
import type { ZodError } from 'zod';

export class HttpError extends Error {
  override readonly name: string = 'HttpError';
  readonly status: 400 | 401 | 404 | 409 | 413 | 503;
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

/** A body or parameter that fails its schema: every problem named by its field. */
export class ValidationError extends HttpError {
  override readonly name = 'ValidationError';
  constructor(what: string, error: ZodError) {
    const details = error.issues.map((issue) => {
      const field = issue.path.map(String).join('.');
      return field === '' ? issue.message : `${field}: ${issue.message}`;
    });
    super(400, `invalid ${what}: ${details.join('; ')}`, details);
  }
}
