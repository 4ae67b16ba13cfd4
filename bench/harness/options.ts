/**
 * Checking the benches' numeric command-line options: an integer in a range, or else an error
 * naming the option (`--trials: must be an integer 1..50, got x`).
 */

export function integerOption(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`--${name}: must be an integer ${min}..${max}, got ${text}`);
  return n;
}

export function positiveInt(name: string, text: string, max: number): number {
  return integerOption(name, text, 1, max);
}
