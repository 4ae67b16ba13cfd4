/**
 * The last assignment the server sent, kept on the agent's disk so a restarted agent can keep
 * restarting its replicas while the server is away (the data plane outlives the control plane).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { taskSpecSchema } from '../protocol/messages.ts';

const fileSchema = z.object({
  cluster_id: z.string(),
  generation: z.int(),
  tasks: z.array(taskSpecSchema),
});
export type SavedAssignment = z.infer<typeof fileSchema>;

export function loadAssignment(dir: string): SavedAssignment | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, 'assignment.json'), 'utf8');
  } catch {
    return undefined;
  }
  const parsed = fileSchema.safeParse(JSON.parse(text));
  return parsed.success ? parsed.data : undefined;
}

/** Written to a temporary file and renamed, so a crash never leaves half a file. */
export function saveAssignment(dir: string, assignment: SavedAssignment): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, 'assignment.json');
  writeFileSync(`${path}.tmp`, JSON.stringify(assignment), { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}
