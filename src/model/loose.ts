/**
 * Readers tolerate fields they do not know; input stays strict. The spec schemas are strict (a
 * typo in a deploy body must not silently do nothing), but the same shapes are also read: the CLI
 * reads them in answers, the agent in assignments. `looseCopy` derives the reader's variant: the
 * same schema with every strict object, however deep (inside defaults, optionals, arrays,
 * records, unions, pipes), made to strip unknown keys instead of refusing them. Checks and
 * refinements are kept.
 */
import type { z } from 'zod';

type Def = Record<string, unknown> & { type: string };
type Node = z.ZodType & { clone(def: unknown): z.ZodType };

export interface LooseOptions {
  /**
   * False drops every check and refinement too, keeping only shapes, types and defaults: for
   * reading what an older version wrote under older limits (a stored spec must stay readable).
   */
  readonly checks?: boolean;
}

export function looseCopy<T extends z.ZodType>(schema: T, options: LooseOptions = {}): T {
  return loosen(schema as unknown as Node, new Map(), options.checks ?? true) as unknown as T;
}

function loosen(schema: Node, seen: Map<Node, Node>, checks: boolean): Node {
  const known = seen.get(schema);
  if (known) return known;
  const original = schema._zod.def as unknown as Def;
  // Checks (min, max, regex, refine, superRefine) live on the definition.
  const def = checks ? original : { ...original, checks: [] };
  const inner = (key: string) => loosen(def[key] as Node, seen, checks);
  let copy: Node;
  switch (def.type) {
    case 'object': {
      const shape = def.shape as Record<string, Node>;
      const looseShape = Object.fromEntries(
        Object.entries(shape).map(([key, value]) => [key, loosen(value, seen, checks)]),
      );
      // A strict object is one whose catchall is `never`; without a catchall, unknown keys are stripped.
      const catchall = def.catchall as Node | undefined;
      const keepCatchall = catchall !== undefined && catchall._zod.def.type !== 'never';
      copy = schema.clone({ ...def, shape: looseShape, catchall: keepCatchall ? catchall : undefined });
      break;
    }
    case 'array':
      copy = schema.clone({ ...def, element: inner('element') });
      break;
    case 'record':
      copy = schema.clone({ ...def, keyType: inner('keyType'), valueType: inner('valueType') });
      break;
    case 'union':
      copy = schema.clone({
        ...def,
        options: (def.options as Node[]).map((option) => loosen(option, seen, checks)),
      });
      break;
    case 'intersection':
      copy = schema.clone({ ...def, left: inner('left'), right: inner('right') });
      break;
    case 'pipe':
      copy = schema.clone({ ...def, in: inner('in'), out: inner('out') });
      break;
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'catch':
    case 'readonly':
    case 'nonoptional':
      copy = schema.clone({ ...def, innerType: inner('innerType') });
      break;
    case 'custom':
      // A custom schema is its own check (bounds.ts uses one to count a record's keys).
      copy = checks ? schema : schema.clone({ ...def, fn: () => true });
      break;
    default:
      copy = checks ? schema : schema.clone(def);
  }
  seen.set(schema, copy);
  return copy;
}
