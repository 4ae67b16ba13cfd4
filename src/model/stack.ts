/**
 * Stacks on the wire: what `POST /api/stacks/{name}` takes (the Skiff specs a Compose file
 * translated to, with the secrets and configs it defines) and what the stack routes answer.
 * A stack is not stored apart from its services: it is the services labelled `skiff.stack=NAME`.
 */
import { z } from 'zod';
import { SECRET_NAME_PATTERN } from './secret-ref.ts';
import { serviceViewSchema } from './views.ts';

export const STACK_LABEL = 'skiff.stack';
export const STACK_SERVICE_LABEL = 'skiff.stack.service';
/** Far above a real Compose file's services, far below what one request should carry. */
export const MAX_STACK_SERVICES = 200;

const stackObjectSchema = z.strictObject({
  name: z.string().regex(SECRET_NAME_PATTERN, 'must be letters, digits, ".", "_" or "-", at most 64'),
  data: z.base64('must be base64'),
});

export const stackRequestSchema = z.strictObject({
  /** Service specs (checked one by one, so an error names `services.N`). */
  services: z.array(z.unknown()).min(1).max(MAX_STACK_SERVICES),
  secrets: z.array(stackObjectSchema).max(64).default([]),
  configs: z.array(stackObjectSchema).max(64).default([]),
  /** Remove the stack's services that the request no longer has. */
  prune: z.boolean().default(false),
});

/** A Compose file's size at most (`POST /api/stacks/{name}/compose`). */
export const MAX_COMPOSE_BYTES = 256 * 1024;

/**
 * `POST /api/stacks/{name}/compose`: the Compose file itself, translated by the server as
 * `skiff stack deploy` does on the client, except that the server reads no files (env_file, a
 * secret's `file:`) and no environment of its own: `${VAR}` comes from `env` only.
 */
export const composeStackRequestSchema = z.strictObject({
  /** The file's name, as errors name it (`compose.yml:12: …`). */
  file: z
    .string()
    .regex(/^[\w.-]{1,128}$/, 'must be a plain file name')
    .default('compose.yml'),
  content: z.string().max(MAX_COMPOSE_BYTES, `at most ${MAX_COMPOSE_BYTES} bytes`),
  /** Variables for `${VAR}` interpolation and `environment:` entries without a value. */
  env: z.record(z.string(), z.string()).default({}),
  prune: z.boolean().default(false),
});

export const stackDeployViewSchema = z.object({
  name: z.string(),
  created: z.array(z.string()),
  updated: z.array(z.string()),
  unchanged: z.array(z.string()),
  removed: z.array(z.string()),
});

export const stackSummarySchema = z.object({
  name: z.string(),
  services: z.int(),
  /** Replicas of current revisions running, and wanted, over all its services. */
  running: z.int(),
  replicas: z.int(),
});

export const stackViewSchema = z.object({ name: z.string(), services: z.array(serviceViewSchema) });

/** What `…/compose` answers: the deploy, and the file's keys that were ignored (`file:line: …`). */
export const composeDeployViewSchema = stackDeployViewSchema.extend({ warnings: z.array(z.string()) });

export type StackDeployView = z.infer<typeof stackDeployViewSchema>;
export type ComposeDeployView = z.infer<typeof composeDeployViewSchema>;
export type StackSummary = z.infer<typeof stackSummarySchema>;
export type StackView = z.infer<typeof stackViewSchema>;
