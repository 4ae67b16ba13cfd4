/**
 * Bounds on what crosses a boundary (agent messages, API bodies): times, counts and text. A peer
 * is input like any other: a time of 1e300 must not reach `new Date(...).toISOString()` (a
 * RangeError), and a 14 MiB event message must not reach every reader of the event log.
 */
import { z } from 'zod';

/** The last millisecond of the year 9999: far past any real clock, well inside what Date can show. */
export const MAX_EPOCH_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** A moment as epoch milliseconds. */
export const epochMsSchema = z.number().min(0).max(MAX_EPOCH_MS);

/** Event messages (from agents and from the server itself) are cut to this many characters. */
export const MAX_EVENT_MESSAGE_CHARS = 4096;
/** Replica messages (an engine's error text) are cut to this many characters. */
export const MAX_STATUS_MESSAGE_CHARS = 4096;
/** One log line relayed from an agent; Docker itself splits lines at 16 KiB. */
export const MAX_LOG_LINE_CHARS = 64 * 1024;

/** Ids and names a peer sends: task ids, container ids, node names, request ids. */
export const idTextSchema = z.string().min(1).max(256);
/** A name field that may be absent (an event's service, container, node). */
export const nameTextSchema = z.string().max(256);

/** Text longer than `maxChars` keeps its start and says how much was cut. */
export function truncateText(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const marker = (cut: number) => `… [truncated ${cut} characters]`;
  // The marker's own length depends on the number it shows; the first guess is never short by more.
  const keep = Math.max(0, maxChars - marker(text.length).length);
  return text.slice(0, keep) + marker(text.length - keep);
}

/** Free text from a peer: accepted at any length, kept to `maxChars`. */
export function boundedTextSchema(maxChars: number) {
  return z.string().transform((text) => truncateText(text, maxChars));
}

/** Epoch ms as RFC 3339, or null when the number is no time Date can show (never a RangeError). */
export function isoTimeOrNull(ms: number | null | undefined): string | null {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return null;
  return new Date(ms).toISOString();
}

/**
 * A record with at most `maxEntries` keys. The count is checked before any key or value, so a body
 * of 100k bad keys costs one issue, not 100k.
 */
export function boundedRecordSchema<K extends z.core.$ZodRecordKey, V extends z.ZodType>(
  key: K,
  value: V,
  maxEntries: number,
) {
  const fewEntries = z.custom<z.input<z.ZodRecord<K, V>>>(
    (input) => typeof input !== 'object' || input === null || Object.keys(input).length <= maxEntries,
    { message: `at most ${maxEntries} entries` },
  );
  return fewEntries.pipe(z.record(key, value));
}
