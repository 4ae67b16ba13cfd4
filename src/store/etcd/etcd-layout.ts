/**
 * Where each record lives under the store's prefix, and how it is written (JSON, read back
 * loosely as the SQLite store reads its rows: a record a newer server wrote, or one written under
 * older limits, stays readable). Pure: the tables (etcd-tables.ts) and the store use it.
 *
 *   meta/<key>                         the value as it is (cluster id, pool, tokens, policy, secrets, CA)
 *   services/<name>                    { spec, revision, createdAt, updatedAt, rollout }
 *   revisions/<name>/<revision:10>     { spec, createdAt }
 *   tasks/<id>                         the task record
 *   alloc/<kind>/<name>                its index
 *   alloc-index/<kind>/<index>         the name holding it (two servers cannot take one index)
 *   nodes/<id>                         { registration, joinedAt, availability, labels }
 *   events/<writer>/<seq>              { i, at, type, service, container, node, message }
 *   writers/<writer>                   the id of the last batch this writer committed
 */
import { z } from 'zod';
import { eventTypeSchema } from '../../model/event.ts';
import { looseCopy } from '../../model/loose.ts';
import { nodeAvailabilitySchema, nodeLabelsSchema, nodeRegistrationSchema } from '../../model/node.ts';
import { rolloutSchema } from '../../model/rollout.ts';
import { serviceSpecSchema } from '../../model/service-spec.ts';
import type { TaskRecord } from '../../model/task.ts';
import { desiredStateSchema, taskObservationSchema } from '../../model/task.ts';
import type { StoredNode, StoredService } from '../store.ts';

export const DEFAULT_ETCD_PREFIX = '/skiff';

/** Segments are URI-encoded, so a name with a slash cannot reach into another's keys. */
const seg = (text: string) => encodeURIComponent(text);

export const keys = {
  meta: (key: string) => `meta/${seg(key)}`,
  service: (name: string) => `services/${seg(name)}`,
  revisionsOf: (name: string) => `revisions/${seg(name)}/`,
  revision: (name: string, revision: number) =>
    `revisions/${seg(name)}/${String(revision).padStart(10, '0')}`,
  task: (id: string) => `tasks/${seg(id)}`,
  alloc: (kind: string, name: string) => `alloc/${seg(kind)}/${seg(name)}`,
  allocIndex: (kind: string, index: number) => `alloc-index/${seg(kind)}/${index}`,
  node: (id: string) => `nodes/${seg(id)}`,
  event: (writer: string, seq: number) => `events/${seg(writer)}/${String(seq).padStart(12, '0')}`,
  writer: (writer: string) => `writers/${seg(writer)}`,
};

export type ParsedKey =
  | { readonly table: 'meta'; readonly key: string }
  | { readonly table: 'service'; readonly name: string }
  | { readonly table: 'revision'; readonly name: string; readonly revision: number }
  | { readonly table: 'task'; readonly id: string }
  | { readonly table: 'alloc'; readonly kind: string; readonly name: string }
  | { readonly table: 'allocIndex'; readonly kind: string; readonly index: number }
  | { readonly table: 'node'; readonly id: string }
  | { readonly table: 'event' }
  | { readonly table: 'writer' }
  | { readonly table: 'unknown' };

/** Which record a key (relative to the prefix) holds. */
export function parseKey(key: string): ParsedKey {
  const parts = key.split('/').map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  const [table, a, b] = parts;
  if (a === undefined) return { table: 'unknown' };
  switch (table) {
    case 'meta':
      return { table: 'meta', key: a };
    case 'services':
      return { table: 'service', name: a };
    case 'revisions':
      return b === undefined ? { table: 'unknown' } : { table: 'revision', name: a, revision: Number(b) };
    case 'tasks':
      return { table: 'task', id: a };
    case 'alloc':
      return b === undefined ? { table: 'unknown' } : { table: 'alloc', kind: a, name: b };
    case 'alloc-index':
      return b === undefined ? { table: 'unknown' } : { table: 'allocIndex', kind: a, index: Number(b) };
    case 'nodes':
      return { table: 'node', id: a };
    case 'events':
      return { table: 'event' };
    case 'writers':
      return { table: 'writer' };
    default:
      return { table: 'unknown' };
  }
}

const storedSpecSchema = looseCopy(serviceSpecSchema, { checks: false });

export const serviceRecord = z.object({
  spec: storedSpecSchema,
  revision: z.number(),
  createdAt: z.number(),
  updatedAt: z.number(),
  rollout: rolloutSchema.nullable(),
});

export const revisionRecord = z.object({ spec: storedSpecSchema, createdAt: z.number() });

export const taskRecord = z.object({
  id: z.string(),
  service: z.string(),
  slot: z.number(),
  revision: z.number(),
  nodeId: z.string().nullable(),
  desiredState: desiredStateSchema,
  pendingReason: z.string().nullable(),
  createdAt: z.number(),
  // Checked on its own: an unreadable observation is forgotten, not the task.
  observed: z.unknown(),
});

export const nodeRecord = z.object({
  registration: looseCopy(nodeRegistrationSchema, { checks: false }),
  joinedAt: z.number(),
  availability: nodeAvailabilitySchema,
  labels: looseCopy(nodeLabelsSchema, { checks: false }),
});

export const eventRecord = z.object({
  /** Its place in its batch: the event's id is the key's create revision × EVENT_ID_SPAN + i. */
  i: z.int().min(0),
  at: z.number(),
  type: eventTypeSchema,
  service: z.string().nullable(),
  container: z.string().nullable(),
  node: z.string().nullable(),
  message: z.string(),
});

/** Events one batch may hold; ids stay below 2^53 up to revision 2^37. */
export const EVENT_ID_SPAN = 65_536;

export function readObservation(value: unknown) {
  const parsed = taskObservationSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
}

/** JSON.parse that gives undefined for text that is not JSON (a record another tool wrote). */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** How each record is written (the inverse of the schemas above). */
export const encode = {
  service: (s: StoredService) =>
    JSON.stringify({
      spec: s.spec,
      revision: s.revision,
      createdAt: s.createdAt,
      updatedAt: s.updatedAt,
      rollout: s.rollout,
    }),
  revision: (r: { readonly spec: unknown; readonly createdAt: number }) =>
    JSON.stringify({ spec: r.spec, createdAt: r.createdAt }),
  task: (t: TaskRecord) => JSON.stringify(t),
  node: (n: StoredNode) =>
    JSON.stringify({
      registration: n.registration,
      joinedAt: n.joinedAt,
      availability: n.availability,
      labels: n.labels,
    }),
  event: (e: z.infer<typeof eventRecord>) => JSON.stringify(e),
};
