/**
 * Query parameters shared by the read routes, each parsed into a value or a 400 that names it.
 */
import { parseDurationMs } from '../model/duration.ts';
import { HttpError } from './errors.ts';

const RFC3339 = /^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})?)?$/;

/** `since` as RFC 3339, unix seconds, or a duration meaning that long ago; epoch ms out. */
export function parseSince(value: string | undefined, now: number): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const ago = parseDurationMs(value);
  if (ago !== undefined) return now - ago;
  // Date.parse alone guesses at junk ("yesterday 1" is 2001), so the shape is checked first.
  const at = RFC3339.test(value) ? Date.parse(value) : Number.NaN;
  if (!Number.isNaN(at)) return at;
  throw new HttpError(400, 'since: must be an RFC 3339 time, unix seconds, or a duration such as "10m"');
}

export function parseCount(name: string, value: string | undefined, max: number): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d+$/.test(value) || Number(value) > max) {
    throw new HttpError(400, `${name}: must be a whole number from 0 to ${max}`);
  }
  return Number(value);
}

export function parseFlag(name: string, value: string | undefined): boolean {
  if (value === undefined || value === '' || value === 'false' || value === '0') return false;
  if (value === 'true' || value === '1') return true;
  throw new HttpError(400, `${name}: must be true or false`);
}
