/**
 * Writing command output to stdout: lines, pretty JSON for `--json`, and one compact JSON object
 * per line for followed streams (so `--json -f` output is itself NDJSON).
 */

export function printLines(lines: readonly string[]): void {
  if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printJsonLine(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** Colour only for a person at a terminal who has not asked for none (https://no-color.org). */
export function stdoutWantsColour(): boolean {
  return process.stdout.isTTY === true && !process.env.NO_COLOR;
}

/** Text that already ends with its newline, such as usage. */
export function printText(text: string): void {
  process.stdout.write(text);
}
