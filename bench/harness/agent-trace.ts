/**
 * The lab agents' engine calls, as their `SKIFF_ENGINE_TRACE` file holds them (src/docker/
 * engine-tracer.ts: one JSON line per call, epoch ms), read back for a window and told as a
 * failover's timeline: when each surviving engine was asked to start each replica and when it
 * answered, relative to the node's down, and how many starts were in flight at once.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

const lineSchema = z.object({
  engine: z.string(),
  op: z.string(),
  start: z.number(),
  end: z.number(),
  target: z.string().optional(),
  detail: z.string().optional(),
  error: z.string().optional(),
});

export type TracedCall = z.infer<typeof lineSchema>;

/** The calls in `file` that began within [fromMs, untilMs] (epoch ms); none if the file is missing. */
export function readTrace(file: string, fromMs: number, untilMs: number): TracedCall[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => lineSchema.parse(JSON.parse(line)))
    .filter((call) => call.start >= fromMs && call.start <= untilMs)
    .sort((a, b) => a.start - b.start);
}

/** Most calls of `op` in flight at one instant. */
export function peakInFlight(calls: readonly TracedCall[], op: string): number {
  const edges = calls
    .filter((c) => c.op === op)
    .flatMap((c) => [
      { at: c.start, step: 1 },
      { at: c.end, step: -1 },
    ])
    // An answer and a request at the same instant: the answer first.
    .sort((a, b) => a.at - b.at || a.step - b.step);
  let now = 0;
  let peak = 0;
  for (const edge of edges) {
    now += edge.step;
    peak = Math.max(peak, now);
  }
  return peak;
}

export interface EngineTimeline {
  readonly engine: string;
  /** The down → the first start request, the last start request, the last start answer (ms). */
  readonly firstStartAskedMs: number | undefined;
  readonly lastStartAskedMs: number | undefined;
  readonly lastStartAnsweredMs: number | undefined;
  readonly starts: number;
  readonly peakStarts: number;
  /** Other engine calls made between the down and the last start answer (op → count). */
  readonly others: Readonly<Record<string, number>>;
}

/** Per engine: its starts after the down, relative to it (ms). */
export function startTimeline(calls: readonly TracedCall[], downAt: number): EngineTimeline[] {
  const engines = [...new Set(calls.map((c) => c.engine))].sort();
  return engines.map((engine) => {
    const mine = calls.filter((c) => c.engine === engine);
    const starts = mine.filter((c) => c.op === 'start' && c.start >= downAt);
    const lastAnswer = starts.length > 0 ? Math.max(...starts.map((c) => c.end)) : undefined;
    const others: Record<string, number> = {};
    for (const call of mine)
      if (
        call.op !== 'start' &&
        call.start >= downAt &&
        (lastAnswer === undefined || call.start <= lastAnswer)
      )
        others[call.op] = (others[call.op] ?? 0) + 1;
    return {
      engine,
      firstStartAskedMs: starts.length > 0 ? Math.min(...starts.map((c) => c.start)) - downAt : undefined,
      lastStartAskedMs: starts.length > 0 ? Math.max(...starts.map((c) => c.start)) - downAt : undefined,
      lastStartAnsweredMs: lastAnswer === undefined ? undefined : lastAnswer - downAt,
      starts: starts.length,
      peakStarts: peakInFlight(starts, 'start'),
      others,
    };
  });
}

/** An agent's text log lines logged within [fromMs, untilMs] (epoch ms), with their times. */
export function agentLogWindow(
  logText: string,
  fromMs: number,
  untilMs: number,
): { readonly at: number; readonly text: string }[] {
  const lines: { at: number; text: string }[] = [];
  for (const line of logText.split('\n')) {
    // Text records start with their RFC 3339 time (log-line.ts); lab.sh's markers do not.
    const space = line.indexOf(' ');
    const at = Date.parse(line.slice(0, space));
    if (!Number.isFinite(at) || at < fromMs || at > untilMs) continue;
    lines.push({ at, text: line.slice(space + 1) });
  }
  return lines;
}
