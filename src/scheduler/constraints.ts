/**
 * Placement constraints: `zone==eu-1`, `disk!=hdd`, `node==node-2`. A node without the label
 * fails an `==` and passes a `!=`.
 */
import { CONSTRAINT_PATTERN } from '../model/service-spec.ts';

export interface Constraint {
  readonly key: string;
  readonly equal: boolean;
  readonly value: string;
  readonly text: string;
}

export function parseConstraint(text: string): Constraint {
  const match = CONSTRAINT_PATTERN.exec(text.trim());
  if (!match?.[1] || !match[2] || match[3] === undefined) throw new RangeError(`not a constraint: ${text}`);
  return { key: match[1], equal: match[2] === '==', value: match[3], text: text.trim() };
}

export function satisfies(
  node: { readonly id: string; readonly labels: Readonly<Record<string, string>> },
  constraint: Constraint,
): boolean {
  const actual = constraint.key === 'node' ? node.id : node.labels[constraint.key];
  return (actual === constraint.value) === constraint.equal;
}
