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

// Removed where they stand and appended once, rewritten, at the end.
const REWRITTEN = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']);

export interface ForwardedFor {
  readonly clientAddress: string;
  readonly proto: 'http';
}

export function forwardRequestHeaders(rawHeaders: readonly string[], forwarded: ForwardedFor): string[] {
  const out = withoutHopByHop(
    rawHeaders,
    (name) =>
      // The request's trailers are not relayed, so their announcement goes too. Expect is answered
      // here (Node sends the 100 Continue) and the body follows regardless.
      name === 'trailer' || name === 'expect' || REWRITTEN.has(name),
  );
  // The body was de-chunked on the way in; re-announce chunking so Node frames it again, whatever
  // the method (Node chunks by default only for methods that usually have a body).
  if (hasField(rawHeaders, 'transfer-encoding')) out.push('Transfer-Encoding', 'chunked');
  const priorFor = values(rawHeaders, 'x-forwarded-for');
  out.push('X-Forwarded-For', [...priorFor, forwarded.clientAddress].join(', '));
  // Kept when an earlier proxy set them (a TLS terminator in front knows the original scheme and
  // host; this hop does not), set from this hop otherwise. Like the leftmost X-Forwarded-For
  // entry, they are claims a backend should trust only behind its own edge.
  const priorProto = values(rawHeaders, 'x-forwarded-proto');
  out.push('X-Forwarded-Proto', priorProto[0] ?? forwarded.proto);
  const host = values(rawHeaders, 'x-forwarded-host')[0] ?? values(rawHeaders, 'host')[0];
  if (host !== undefined) out.push('X-Forwarded-Host', host);
  return out;
}

/** Response fields minus hop-by-hop; Trailer stays because the proxy relays trailers. */
export function forwardResponseHeaders(rawHeaders: readonly string[]): string[] {
  return withoutHopByHop(rawHeaders, () => false);
}

/**
 * True when the request asks to switch to a protocol the proxy does not relay (WebSocket and the
 * like). An h2c upgrade is not refused: a server may ignore it, so Upgrade is dropped and the
 * request served over HTTP/1.1.
 */
export function isUnsupportedUpgrade(rawHeaders: readonly string[]): boolean {
  if (!connectionTokens(rawHeaders).has('upgrade')) return false;
  const offered = values(rawHeaders, 'upgrade').flatMap((value) => value.split(','));
  return offered.some((protocol) => {
    const name = protocol.trim().toLowerCase();
    return name !== '' && name !== 'h2c';
  });
}

function withoutHopByHop(rawHeaders: readonly string[], alsoDrop: (lowerName: string) => boolean): string[] {
  const named = connectionTokens(rawHeaders);
  const out: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] ?? '';
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || named.has(lower) || alsoDrop(lower)) continue;
    out.push(name, rawHeaders[i + 1] ?? '');
  }
  return out;
}

function connectionTokens(rawHeaders: readonly string[]): Set<string> {
  const tokens = new Set<string>();
  for (const value of values(rawHeaders, 'connection')) {
    for (const token of value.split(',')) {
      const trimmed = token.trim().toLowerCase();
      if (trimmed !== '') tokens.add(trimmed);
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

function hasField(rawHeaders: readonly string[], lowerName: string): boolean {
  return values(rawHeaders, lowerName).length > 0;
}
