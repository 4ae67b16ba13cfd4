/**
 * Seeded randomness for simulations: the same seed gives the same sequence, so a run (and a
 * failing seed) replays exactly.
 */

/** A uniform number in [0, 1). */
export type Random = () => number;

/** mulberry32: small, fast, and good enough for ids, jitter and picking victims. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [lo, hi]. */
export function intBetween(random: Random, lo: number, hi: number): number {
  return lo + Math.floor(random() * (hi - lo + 1));
}

/** `length` lowercase hex digits, like a Docker id. */
export function hexId(random: Random, length = 64): string {
  let id = '';
  while (id.length < length)
    id += Math.floor(random() * 0x1_0000_0000)
      .toString(16)
      .padStart(8, '0');
  return id.slice(0, length);
}

/** A seed from a string (a node name), so each simulated agent gets a stream of its own. */
export function seedOf(text: string, base = 0): number {
  let h = (0x811c9dc5 ^ base) >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
