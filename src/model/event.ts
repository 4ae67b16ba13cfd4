/**
 * Events: the cluster's history in the spec's shape (`timestamp`, `type`, `service`, `container`,
 * `message`), plus the node they happened on and an id to resume a stream from.
 */
import { z } from 'zod';
import { boundedTextSchema, MAX_EVENT_MESSAGE_CHARS, nameTextSchema } from './bounds.ts';

export const eventTypeSchema = z.enum([
  'service',
  'scale',
  'schedule',
  'container',
  'health_check',
  'restart',
  'image',
  'node',
  'rollout',
  /** API tokens created or removed. */
  'token',
  /** The admission policy changed. */
  'policy',
  /** Secrets and configs created, updated or removed (never their values). */
  'secret',
  'config',
  /** A stack deployed or removed (its services' own events follow). */
  'stack',
  /** Servers of an HA cluster: which one leads (leadership changes). */
  'server',
  /** Registry credentials stored or removed (never the password). */
  'registry',
  /** Volumes: removed, moved by an operator. */
  'volume',
]);
export type EventType = z.infer<typeof eventTypeSchema>;

export const eventInputSchema = z.object({
  type: eventTypeSchema,
  service: nameTextSchema.nullable(),
  container: nameTextSchema.nullable(),
  node: nameTextSchema.nullable(),
  /** Cut to a bound (with a marker): one agent's 14 MiB message must not reach every reader. */
  message: boundedTextSchema(MAX_EVENT_MESSAGE_CHARS),
});
export type EventInput = z.infer<typeof eventInputSchema>;

export const eventSchema = eventInputSchema.extend({
  id: z.int(),
  timestamp: z.string(),
});
export type SkiffEvent = z.infer<typeof eventSchema>;
