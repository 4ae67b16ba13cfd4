/**
 * The one way the dashboard calls the API: same origin, the session cookie (HttpOnly, so script
 * never sees it), and the session's CSRF token on every state-changing request. Failures are
 * `ApiError`s carrying the status and the body's `details`.
 */

export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  readonly details: readonly string[] | undefined;
  constructor(status: number, message: string, details?: readonly string[]) {
    super(message);
    this.status = status;
    this.details = details;
  }
}

/** Kept in memory only: the server repeats it in every `GET /api/session` answer. */
let csrfToken: string | undefined;
/** Called when any request answers 401: the session has ended (signed out, token removed). */
let onUnauthorized: () => void = () => {};

export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

export interface RequestOptions {
  readonly body?: unknown;
  readonly signal?: AbortSignal;
  /** A 401 here is an answer, not the end of the session (signing in with a wrong token). */
  readonly expectUnauthorized?: boolean;
}

export async function apiRequest<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const response = await apiFetch(method, path, options);
  const text = await response.text();
  return (text === '' ? null : JSON.parse(text)) as T;
}

/** The raw response (for streams), already checked for an error status. */
export async function apiFetch(
  method: string,
  path: string,
  options: RequestOptions = {},
): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['x-csrf-token'] = csrfToken;
  const response = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: options.signal,
  });
  if (response.ok) return response;
  let message = `${method} ${path}: HTTP ${response.status}`;
  let details: string[] | undefined;
  try {
    const body = (await response.json()) as { error?: unknown; details?: unknown };
    if (typeof body.error === 'string') message = body.error;
    if (Array.isArray(body.details)) details = body.details.filter((d): d is string => typeof d === 'string');
  } catch {
    // Not JSON (a proxy's page): the status says enough.
  }
  if (response.status === 401 && !options.expectUnauthorized) onUnauthorized();
  throw new ApiError(response.status, message, details);
}
