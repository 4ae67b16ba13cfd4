/**
 * A 4xx body names each problem by its field (`resources.memory_mb: Too small…`, see
 * src/api/errors.ts). This splits those details into per-field messages so a form can show each
 * one at its field; what names no field stays general.
 */

export interface FieldErrors {
  /** `ports.0.container_port` → its messages. */
  readonly byField: ReadonlyMap<string, readonly string[]>;
  /** Problems that name no field (a conflict, a count of further problems). */
  readonly general: readonly string[];
}

const FIELD_PREFIX = /^([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+)*): (.+)$/s;

export function fieldErrors(error: string, details: readonly string[] | undefined): FieldErrors {
  const byField = new Map<string, string[]>();
  const general: string[] = [];
  const problems = details && details.length > 0 ? details : [error];
  for (const problem of problems) {
    const match = FIELD_PREFIX.exec(problem);
    if (!match) {
      general.push(problem);
      continue;
    }
    const [, field = '', message = ''] = match;
    const list = byField.get(field) ?? [];
    list.push(message);
    byField.set(field, list);
  }
  return { byField, general };
}

/**
 * The messages for a form field and everything below it (`ports` collects `ports.0.host_port`),
 * each prefixed by the part of the path below the field.
 */
export function messagesAt(errors: FieldErrors | undefined, field: string): string[] {
  if (!errors) return [];
  const out: string[] = [];
  for (const [path, messages] of errors.byField) {
    if (path === field) out.push(...messages);
    else if (path.startsWith(`${field}.`)) {
      const rest = path.slice(field.length + 1);
      for (const message of messages) out.push(`${rest}: ${message}`);
    }
  }
  return out;
}
