/**
 * What the benches print and how: a line to stdout, the plain-text table (optionally with a rule
 * under the header), number formats (whole ms or '-', grouped integers, one-decimal percentages),
 * an error's message, the tail of a captured log on stderr, and the `main().catch` that reports a
 * failed run and sets exit code 1.
 */

export const out = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

/**
 * Left-aligned first column, right-aligned others, two spaces between columns; with `rule`, a
 * line of dashes under the header (the scheduler benches' style).
 */
export function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  { rule = false }: { rule?: boolean } = {},
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const ruleLines = rule ? [line(widths.map((w) => '-'.repeat(w)))] : [];
  return [line(header), ...ruleLines, ...rows.map(line)].join('\n');
}

/** Whole milliseconds, or '-' when there is no finite value. */
export const fmtMs = (ms: number | undefined): string =>
  ms !== undefined && Number.isFinite(ms) ? ms.toFixed(0) : '-';

const GROUPED = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
/** A whole number with thousands separators: 5,000. */
export function grouped(n: number): string {
  return GROUPED.format(n);
}

/** A fraction as a percentage with one decimal: 0.125 → 12.5%. */
export function pct(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}

export const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** The last 20 of `lines` on stderr under `agent log (N line(s), last 20):`, if there are any. */
export function printAgentLog(lines: readonly string[]): void {
  if (lines.length === 0) return;
  process.stderr.write(`agent log (${lines.length} line(s), last 20):\n`);
  for (const line of lines.slice(-20)) process.stderr.write(`  ${line}\n`);
}

/** Runs a bench's main; a failure is printed with its stack as `<name> failed: …` and exits 1. */
export function runMain(name: string, main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    process.stderr.write(
      `${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  });
}
