/**
 * The last assignment the server sent, kept on the agent's disk so a restarted agent can keep
 * restarting its replicas while the server is away (the data plane outlives the control plane),
 * once the server has had its chance to answer first (restored-hold.ts).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { DEFAULT_ADDRESS_POOL } from '../model/addressing.ts';
import { taskSpecSchema } from '../protocol/messages.ts';

const fileSchema = z.object({
  cluster_id: z.string(),
  /** The cluster's address pool, so a restarted agent lays out its networks without the server. */
  address_pool: z.string().default(DEFAULT_ADDRESS_POOL),
  generation: z.int(),
  /**
   * The heartbeat interval the server last told this agent: a restarted agent waits for the
   * server about as long as it takes to call the node down (restored-hold.ts). Absent from files
   * written before it was saved.
   */
  heartbeat_interval_ms: z.int().min(1).max(60_000).optional(),
  tasks: z.array(taskSpecSchema),
});
export type SavedAssignment = z.infer<typeof fileSchema>;

/**
 * The saved assignment, or undefined when there is none. A file that cannot be read as one (cut
 * short, edited by hand, from another version) counts as none: it is moved aside, so the agent
 * starts as on a fresh host and the server sends the assignment again, and logged, so nobody
 * wonders where it went.
 */
export function loadAssignment(dir: string, log: (message: string) => void): SavedAssignment | undefined {
  const path = join(dir, 'assignment.json');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const parsed = fileSchema.safeParse(parseJson(text));
  if (parsed.success) return parsed.data;
  const aside = `${path}.unreadable-${Date.now()}`;
  try {
    renameSync(path, aside);
    log(`${path} is not a saved assignment; moved it to ${aside} and starting without one`);
  } catch (error) {
    log(
      `${path} is not a saved assignment, and moving it aside failed (${String(error)}); starting without one`,
    );
  }
  return undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Written to a temporary file and renamed, so a crash never leaves half a file. */
export function saveAssignment(dir: string, assignment: SavedAssignment): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, 'assignment.json');
  writeFileSync(`${path}.tmp`, JSON.stringify(assignment), { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}
