/**
 * Whether a browser request comes from a page of this server (or of an origin the operator
 * allowed): what the stream's WebSocket and the sign-in check, since a WebSocket is not bound by
 * the same-origin policy and carries the cookie of whichever page opened it. No `Origin` header
 * means no browser page asked (the CLI, curl): those present a token of their own.
 */
export function originAllowed(request: Request, allowedOrigins: readonly string[]): boolean {
  const origin = request.headers.get('origin');
  if (origin === null) return true;
  if (allowedOrigins.includes(origin)) return true;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    // `Origin: null` (a sandboxed frame, a file: page) and anything unparseable.
    return false;
  }
  // The host (and port) the browser addressed: behind a TLS-terminating proxy the scheme differs.
  return host !== '' && host === new URL(request.url).host;
}
