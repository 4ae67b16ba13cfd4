/**
 * What `GET /api/version` answers and `skiff version` prints for each side: the release, the
 * build, and the versions of the two contracts a cluster upgraded one host at a time mixes: the
 * REST API (clients) and the agent protocol (agents; a server accepts one version either side).
 */
import { z } from 'zod';

export { API_VERSION } from './api-version.ts';

export const versionViewSchema = z.object({
  version: z.string(),
  commit: z.string(),
  build_date: z.string(),
  /** `binary` (the single executable) or `source` (a checkout run by Node). */
  build: z.string(),
  api_version: z.int(),
  protocol_version: z.int(),
  /** The agent protocol versions this server accepts. */
  agent_protocols: z.object({ min: z.int(), max: z.int() }).optional(),
});
export type VersionView = z.infer<typeof versionViewSchema>;
