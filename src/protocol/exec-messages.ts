/**
 * `skiff exec` on the agent link: the server asks an agent to run a command in one of its
 * replicas (`exec.start`), feeds its stdin (`exec.input`, `exec.input_end`), its terminal size
 * (`exec.resize`) or stops listening (`exec.cancel`); the agent answers with output chunks and
 * one `exec.exit`. Data travels base64 in bounded chunks. Only agents announcing the `exec`
 * feature are asked. Spread into the unions of messages.ts.
 */
import { z } from 'zod';
import { boundedTextSchema, idTextSchema } from '../model/bounds.ts';

/** Per message; an agent splits larger output, the server splits larger input. */
export const MAX_EXEC_CHUNK_BYTES = 32 * 1024;
const chunkSchema = z.base64().max(Math.ceil(MAX_EXEC_CHUNK_BYTES / 3) * 4);
const terminalSize = { cols: z.int().min(1).max(10_000), rows: z.int().min(1).max(10_000) };

export const execRequestSchema = z.strictObject({
  command: z
    .array(z.string().max(64 * 1024))
    .min(1)
    .max(1024),
  tty: z.boolean(),
  /** Whether the command gets a stdin (`-i`); without it, it reads end of file. */
  stdin: z.boolean(),
  user: z.string().max(128).optional(),
  workdir: z.string().max(4096).optional(),
  env: z
    .array(z.string().max(64 * 1024))
    .max(256)
    .default([]),
  cols: terminalSize.cols.optional(),
  rows: terminalSize.rows.optional(),
});
export type ExecRequest = z.infer<typeof execRequestSchema>;

export const execServerMessages = [
  z.object({
    type: z.literal('exec.start'),
    request_id: idTextSchema,
    task_id: idTextSchema,
    request: execRequestSchema,
  }),
  z.object({ type: z.literal('exec.input'), request_id: idTextSchema, data: chunkSchema }),
  z.object({ type: z.literal('exec.input_end'), request_id: idTextSchema }),
  z.object({ type: z.literal('exec.resize'), request_id: idTextSchema, ...terminalSize }),
  z.object({ type: z.literal('exec.cancel'), request_id: idTextSchema }),
] as const;

export const execAgentMessages = [
  z.object({
    type: z.literal('exec.output'),
    request_id: idTextSchema,
    stream: z.enum(['stdout', 'stderr']),
    data: chunkSchema,
  }),
  z.object({
    type: z.literal('exec.exit'),
    request_id: idTextSchema,
    /** Null when the command could not run (then `error` says why) or the engine did not say. */
    exit_code: z.int().min(-1).max(255).nullable(),
    error: boundedTextSchema(4096).nullable(),
  }),
] as const;
