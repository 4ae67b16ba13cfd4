/**
 * Reads the JSON spec of `skiff deploy --file` (a path, or "-" for stdin). Only its being a JSON
 * object is checked here: the merged body is validated by the server, which names the fields.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { JsonObject } from './deploy-body.ts';
import { UsageError } from './errors.ts';
import { parseJson } from './ndjson.ts';

const jsonObjectSchema = z.record(z.string(), z.unknown());

export function readSpecFile(path: string): JsonObject {
  let text: string;
  try {
    text = readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (error) {
    const reason = error instanceof Error && 'code' in error ? String(error.code) : String(error);
    throw new UsageError(`--file: cannot read ${path} (${reason})`);
  }
  return parseSpecText(path, text);
}

export function parseSpecText(path: string, text: string): JsonObject {
  const source = path === '-' ? 'stdin' : path;
  const parsed = parseJson(text);
  if (!parsed.ok) throw new UsageError(`--file: ${source} is not valid JSON`);
  const object = jsonObjectSchema.safeParse(parsed.value);
  if (!object.success) throw new UsageError(`--file: ${source} must hold a JSON object (a service spec)`);
  return object.data;
}
