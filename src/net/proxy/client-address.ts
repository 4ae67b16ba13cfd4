/**
 * The client's address as `allow` and `X-Forwarded-For` see it: IPv4 clients of a dual-stack
 * (`::`) listener arrive as `::ffff:a.b.c.d`, and network isolation rules are written in IPv4.
 */
const MAPPED_PREFIX = '::ffff:';

/** Undefined when the socket is already gone (the kernel no longer knows the peer). */
export function clientAddress(socket: { readonly remoteAddress?: string | undefined }): string | undefined {
  const address = socket.remoteAddress;
  if (address === undefined) return undefined;
  return address.startsWith(MAPPED_PREFIX) && address.includes('.')
    ? address.slice(MAPPED_PREFIX.length)
    : address;
}
