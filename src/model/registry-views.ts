/**
 * The API's shapes for registry credentials (`/api/registries`): what a login sends, and what a
 * listing shows (the registry and the username, never the password).
 */
import { z } from 'zod';

export const registryLoginRequestSchema = z.strictObject({
  /** `host[:port]` as image references name it (`docker.io` for Docker Hub). */
  registry: z
    .string()
    .min(1)
    .max(253 + 6),
  username: z.string().min(1).max(1024),
  password: z.string().min(1).max(8192),
});
export type RegistryLoginRequest = z.infer<typeof registryLoginRequestSchema>;

export const registryViewSchema = z.object({
  registry: z.string(),
  username: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type RegistryView = z.infer<typeof registryViewSchema>;
