/**
 * One Compose file from text to a plain value: YAML parsed (anchors and `<<` merge keys resolved),
 * every string value interpolated from the environment, and the line of every key remembered so a
 * later error can name file, line and key. Pure: reading the files is `load-compose.ts`'s job.
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { ComposeError } from './compose-error.ts';
import { type Environment, interpolate } from './interpolate.ts';

/** Key paths as text: `services.web.ports.0`. */
export type KeyPath = string;

export interface ComposeFile {
  readonly file: string;
  readonly value: Record<string, unknown>;
  /** The line (1-based) of every key and sequence item, by path. */
  readonly lines: ReadonlyMap<KeyPath, number>;
}

export function pathText(path: readonly (string | number)[]): KeyPath {
  return path.join('.');
}

export function parseComposeFile(file: string, text: string, env: Environment): ComposeFile {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, merge: true, prettyErrors: false, uniqueKeys: true });
  const [error] = doc.errors;
  if (error) {
    const line = error.linePos?.[0]?.line ?? lineCounter.linePos(error.pos[0]).line;
    throw new ComposeError(file, line, undefined, `not valid YAML: ${error.message.split('\n')[0]}`);
  }
  const lines = new Map<KeyPath, number>();
  const lineOf = (node: { range?: [number, number, number] | null } | null | undefined) =>
    node?.range ? lineCounter.linePos(node.range[0]).line : undefined;
  const walk = (node: unknown, path: (string | number)[]): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        const at = [...path, key];
        const line = lineOf(pair.key as Node);
        if (line !== undefined) lines.set(pathText(at), line);
        walk(pair.value, at);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => {
        const at = [...path, index];
        const line = lineOf(item as Node);
        if (line !== undefined) lines.set(pathText(at), line);
        walk(item, at);
      });
    }
    // An alias's content has the lines of its anchor; errors in it point at the alias's key.
  };
  walk(doc.contents, []);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 1000 });
  } catch (cause) {
    throw new ComposeError(file, 1, undefined, `cannot read the YAML: ${(cause as Error).message}`);
  }
  if (value === null || value === undefined) value = {};
  if (typeof value !== 'object' || Array.isArray(value))
    throw new ComposeError(file, 1, undefined, 'a Compose file must be a mapping with a services key');
  const interpolated = interpolateTree(value, [], env, (path, reason) => {
    throw new ComposeError(file, nearestLine(lines, path), pathText(path), reason);
  });
  return { file, value: interpolated as Record<string, unknown>, lines };
}

/** The line of `path`, or of the nearest enclosing key that has one. */
export function nearestLine(lines: ReadonlyMap<KeyPath, number>, path: readonly (string | number)[]): number {
  for (let length = path.length; length > 0; length--) {
    const line = lines.get(pathText(path.slice(0, length)));
    if (line !== undefined) return line;
  }
  return 1;
}

function interpolateTree(
  value: unknown,
  path: (string | number)[],
  env: Environment,
  fail: (path: (string | number)[], reason: string) => never,
): unknown {
  if (typeof value === 'string') {
    // Extension fields (`x-…`) may hold anything, `$` included; they are not interpolated.
    if (path.some((part) => typeof part === 'string' && part.startsWith('x-'))) return value;
    const result = interpolate(value, env);
    if (!result.ok) fail(path, result.reason);
    return result.value;
  }
  if (Array.isArray(value))
    return value.map((item, index) => interpolateTree(item, [...path, index], env, fail));
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, interpolateTree(item, [...path, key], env, fail)]),
    );
  return value;
}
