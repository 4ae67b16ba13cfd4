/**
 * The agent's image flags (`skiff agent` and `skiff up`): where its images are read and removed,
 * and image garbage collection's marks (the kubelet's `--image-gc-high-threshold` 85 and
 * `--image-gc-low-threshold` 80, percent of the engine data root's filesystem), the minimum time
 * an image stays after its last use (`--image-gc-min-age`, the kubelet's 2 m) and how often the
 * agent looks (`--image-gc-interval`, 1 m; also how often its image list may be re-sent).
 */
import { DEFAULT_IMAGE_GC, DEFAULT_IMAGE_GC_INTERVAL_MS } from '../agent/image-gc-selection.ts';
import { formatDurationMs, parseDurationMs } from '../model/duration.ts';
import { UsageError } from './errors.ts';

export const imageGcOptions = {
  'image-gc-high-threshold': { type: 'string', default: String(DEFAULT_IMAGE_GC.highPercent) },
  'image-gc-low-threshold': { type: 'string', default: String(DEFAULT_IMAGE_GC.lowPercent) },
  'image-gc-min-age': { type: 'string', default: formatDurationMs(DEFAULT_IMAGE_GC.minAgeMs) },
  'image-gc-interval': { type: 'string', default: formatDurationMs(DEFAULT_IMAGE_GC_INTERVAL_MS) },
} as const;

function percent(flag: string, text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0 || value > 100)
    throw new UsageError(`${flag} ${text}: expected a percentage from 0 to 100`);
  return value;
}

function duration(flag: string, text: string, minMs: number, maxMs: number, range: string): number {
  const value = parseDurationMs(text);
  if (value === undefined || value < minMs || value > maxMs)
    throw new UsageError(`${flag} ${text}: expected a duration from ${range}`);
  return value;
}

/** The flags as the agent takes them; a bad value is a UsageError naming the flag. */
export function imageGcFromFlags(values: {
  'image-gc-high-threshold'?: string | undefined;
  'image-gc-low-threshold'?: string | undefined;
  'image-gc-min-age'?: string | undefined;
  'image-gc-interval'?: string | undefined;
}) {
  const highPercent = percent(
    '--image-gc-high-threshold',
    values['image-gc-high-threshold'] ?? String(DEFAULT_IMAGE_GC.highPercent),
  );
  const lowPercent = percent(
    '--image-gc-low-threshold',
    values['image-gc-low-threshold'] ?? String(DEFAULT_IMAGE_GC.lowPercent),
  );
  if (lowPercent > highPercent)
    throw new UsageError(
      `--image-gc-low-threshold ${lowPercent} is above --image-gc-high-threshold ${highPercent}: the low mark is where collection stops`,
    );
  const minAgeMs = duration(
    '--image-gc-min-age',
    values['image-gc-min-age'] ?? formatDurationMs(DEFAULT_IMAGE_GC.minAgeMs),
    0,
    30 * 86_400_000,
    '0s to 720h',
  );
  const intervalMs = duration(
    '--image-gc-interval',
    values['image-gc-interval'] ?? formatDurationMs(DEFAULT_IMAGE_GC_INTERVAL_MS),
    1000,
    86_400_000,
    '1s to 24h',
  );
  return { thresholds: { highPercent, lowPercent, minAgeMs }, intervalMs };
}
