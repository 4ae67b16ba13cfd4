/**
 * Parsers for single flag values (counts, ports, memory sizes, KEY=VALUE pairs, durations). Each
 * returns the parsed value or throws a `UsageError` naming the flag, so a bad value is reported
 * as the user typed it rather than as a server-side schema path.
 */

import type { z } from 'zod';
import { parseDurationMs } from '../model/duration.ts';
import type { portSchema } from '../model/service-spec.ts';

type PortInput = z.input<typeof portSchema>;

import { UsageError } from './errors.ts';

export function parseIntegerFlag(
  flag: string,
  value: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const parsed = /^\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `from ${min} to ${max}`;
    throw new UsageError(`${flag} must be a whole number ${range}, got "${value}"`);
  }
  return parsed;
}

export function parsePositiveNumberFlag(flag: string, value: string): number {
  const parsed = /^\d*\.?\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  if (!(parsed > 0)) throw new UsageError(`${flag} must be a positive number, got "${value}"`);
  return parsed;
}

/** Validates a duration flag; the text itself is sent, as the API keeps durations as written. */
export function parseDurationFlag(flag: string, value: string): string {
  if (parseDurationMs(value) === undefined) {
    throw new UsageError(`${flag} must be a duration such as "500ms", "10s" or "1m", got "${value}"`);
  }
  return value.trim();
}

export function parseDurationFlagMs(flag: string, value: string): number {
  return parseDurationMs(parseDurationFlag(flag, value)) ?? 0;
}

const MIB_PER_UNIT: Record<string, number> = { m: 1, g: 1024, t: 1024 * 1024 };

/**
 * The one meaning of a size on the command line: "512" (MiB), "512m", "1g", "1.5G", "512MiB" →
 * MiB, rounded to a whole MiB as the API wants. Every size flag goes through here.
 */
export function parseMemoryMb(flag: string, value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(?:([mgt])(?:i?b)?)?$/i.exec(value.trim());
  const amount = match?.[1] === undefined ? Number.NaN : Number(match[1]);
  const mb = Math.round(amount * (MIB_PER_UNIT[(match?.[2] ?? 'm').toLowerCase()] ?? Number.NaN));
  if (!(mb > 0)) throw new UsageError(`${flag} must be a size such as "512", "512m" or "1g", got "${value}"`);
  return mb;
}

const BYTES_PER_MIB = 1024 * 1024;

/** A size in bytes, read as `parseMemoryMb` reads it (so `512` is 512 MiB here too). */
export function parseSizeBytes(flag: string, value: string): number {
  return parseMemoryMb(flag, value) * BYTES_PER_MIB;
}

/**
 * "8080" (reachable by name only), "80:8080" (also published on every node's port 80),
 * "5353:53/udp", "80:8080/http" (balanced per HTTP request).
 */
export function parsePortFlag(flag: string, value: string): PortInput {
  const match = /^(?:(\d+):)?(\d+)(?:\/(tcp|udp|http))?$/i.exec(value.trim());
  const containerText = match?.[2];
  if (!match || containerText === undefined) {
    throw new UsageError(`${flag} must be [HOST_PORT:]CONTAINER_PORT[/tcp|/udp|/http], got "${value}"`);
  }
  const suffix = match[3]?.toLowerCase();
  const port: PortInput = {
    container_port: parseIntegerFlag(flag, containerText, 1, 65535),
    protocol: suffix === 'udp' ? 'udp' : 'tcp',
  };
  if (suffix === 'http') port.app_protocol = 'http';
  if (match[1] !== undefined) port.host_port = parseIntegerFlag(flag, match[1], 1, 65535);
  return port;
}

/** "KEY=VALUE" → [key, value]; the value may itself contain "=". */
export function parseKeyValueFlag(flag: string, value: string): [string, string] {
  const at = value.indexOf('=');
  if (at <= 0) throw new UsageError(`${flag} must be KEY=VALUE, got "${value}"`);
  return [value.slice(0, at), value.slice(at + 1)];
}

export function parseChoiceFlag<const C extends string>(
  flag: string,
  value: string,
  choices: readonly C[],
): C {
  const found = choices.find((choice) => choice === value);
  if (found === undefined)
    throw new UsageError(`${flag} must be one of ${choices.join(', ')}, got "${value}"`);
  return found;
}

/** `--since`: a duration ago ("10m"), unix seconds, or an RFC 3339 time; passed on as written. */
export function parseSinceFlag(flag: string, value: string): string {
  const text = value.trim();
  const isTime = /^\d{4}-\d{2}-\d{2}T/.test(text) && !Number.isNaN(Date.parse(text));
  if (parseDurationMs(text) === undefined && !isTime) {
    throw new UsageError(
      `${flag} must be a duration ("10m"), unix seconds or an RFC 3339 time, got "${value}"`,
    );
  }
  return text;
}
