/**
 * How many bits a preset admin token (SKIFF_TOKEN) carries, estimated from its length and the
 * character classes it uses: `a` or a short password is refused at start, `openssl rand -hex 16`
 * (128 bits) passes. An estimate errs high for words, so few distinct characters are refused too.
 */
export const MIN_TOKEN_BITS = 128;
const MIN_DISTINCT_CHARACTERS = 8;

export function estimatedBits(token: string): number {
  let alphabet = 0;
  if (/[a-z]/.test(token)) alphabet += 26;
  if (/[A-Z]/.test(token)) alphabet += 26;
  if (/[0-9]/.test(token)) alphabet += 10;
  if (/[^a-zA-Z0-9]/.test(token)) alphabet += 32;
  // Hex is common and has only 16 symbols: count it as such, not as letters and digits.
  if (/^[0-9a-f]+$/.test(token) || /^[0-9A-F]+$/.test(token)) alphabet = 16;
  return alphabet === 0 ? 0 : Math.floor(token.length * Math.log2(alphabet));
}

/** Why a preset token is too weak, or undefined when it is strong enough. */
export function weakTokenReason(token: string): string | undefined {
  const bits = estimatedBits(token);
  const distinct = new Set(token).size;
  if (bits >= MIN_TOKEN_BITS && distinct >= MIN_DISTINCT_CHARACTERS) return undefined;
  return (
    `SKIFF_TOKEN is too weak to be the admin token: it carries about ${bits} bits (${token.length} characters, ${distinct} distinct); at least ${MIN_TOKEN_BITS} are needed. ` +
    'Use e.g. `openssl rand -hex 16` or more, or unset SKIFF_TOKEN and the server makes one (DIR/admin.token).'
  );
}
