/**
 * Header rewriting for the HTTP proxy, on Node's raw header lists (`[name, value, name, value…]`,
 * duplicates and case kept): drops hop-by-hop fields — the fixed set and any named in
 * `Connection` — and adds the X-Forwarded-* fields. Pure, so the rules are tested without sockets.
 */

// RFC 9110 §7.6.1 connection-specific fields, plus the pre-standard Proxy-Connection.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'transfer-encoding',
  'upgrade',
]);

export interface ForwardedFor {
  readonly clientAddress: string;
  readonly proto: 'http';
}

export function forwardRequestHeaders(rawHeaders: readonly string[], forwarded: ForwardedFor): string[] {
  // One pass over the fields (this runs per request): what is kept goes out in order, what is
  // rewritten is collected on the way and appended at the end.
  const named = connectionTokens(rawHeaders);
  const out: string[] = [];
  let chunked = false;
  let priorFor: string | undefined;
  let priorProto: string | undefined;
  let priorHost: string | undefined;
  let host: string | undefined;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] ?? '';
    const value = rawHeaders[i + 1] ?? '';
    const lower = name.toLowerCase();
    switch (lower) {
      case 'transfer-encoding':
        chunked = true;
        continue;
      case 'x-forwarded-for':
        priorFor = priorFor === undefined ? value : `${priorFor}, ${value}`;
        continue;
      case 'x-forwarded-proto':
        priorProto ??= value;
        continue;
      case 'x-forwarded-host':
        priorHost ??= value;
        continue;
      // The request's trailers are not relayed, so their announcement goes too. Expect is
      // answered here (Node sends the 100 Continue) and the body follows regardless.
      case 'trailer':
      case 'expect':
        continue;
      case 'host':
        host ??= value;
        break;
    }
    if (HOP_BY_HOP.has(lower) || named?.has(lower)) continue;
    out.push(name, value);
  }
  // The body was de-chunked on the way in; re-announce chunking so Node frames it again, whatever
  // the method (Node chunks by default only for methods that usually have a body).
  if (chunked) out.push('Transfer-Encoding', 'chunked');
  out.push(
    'X-Forwarded-For',
    priorFor === undefined ? forwarded.clientAddress : `${priorFor}, ${forwarded.clientAddress}`,
  );
  // Kept when an earlier proxy set them (a TLS terminator in front knows the original scheme and
  // host; this hop does not), set from this hop otherwise. Like the leftmost X-Forwarded-For
  // entry, they are claims a backend should trust only behind its own edge.
  out.push('X-Forwarded-Proto', priorProto ?? forwarded.proto);
  const forwardedHost = priorHost ?? host;
  if (forwardedHost !== undefined) out.push('X-Forwarded-Host', forwardedHost);
  return out;
}

/** Response fields minus hop-by-hop; Trailer stays because the proxy relays trailers. */
export function forwardResponseHeaders(rawHeaders: readonly string[]): string[] {
  const named = connectionTokens(rawHeaders);
  const out: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] ?? '';
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || named?.has(lower)) continue;
    out.push(name, rawHeaders[i + 1] ?? '');
  }
  return out;
}

/**
 * True when the request asks to switch to a protocol the proxy does not relay (WebSocket and the
 * like). An h2c upgrade is not refused: a server may ignore it, so Upgrade is dropped and the
 * request served over HTTP/1.1.
 */
export function isUnsupportedUpgrade(rawHeaders: readonly string[]): boolean {
  if (!connectionTokens(rawHeaders)?.has('upgrade')) return false;
  const offered = values(rawHeaders, 'upgrade').flatMap((value) => value.split(','));
  return offered.some((protocol) => {
    const name = protocol.trim().toLowerCase();
    return name !== '' && name !== 'h2c';
  });
}

/** The field names a Connection header lists (lowercased), or undefined when it lists none. */
function connectionTokens(rawHeaders: readonly string[]): Set<string> | undefined {
  let tokens: Set<string> | undefined;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]?.toLowerCase() !== 'connection') continue;
    for (const token of (rawHeaders[i + 1] ?? '').split(',')) {
      const trimmed = token.trim().toLowerCase();
      if (trimmed === '') continue;
      tokens ??= new Set();
      tokens.add(trimmed);
    }
  }
  return tokens;
}

function values(rawHeaders: readonly string[], lowerName: string): string[] {
  const found: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]?.toLowerCase() === lowerName) found.push(rawHeaders[i + 1] ?? '');
  }
  return found;
}
