/**
 * A registry credential as the Docker Engine API takes it: the `X-Registry-Auth` header of a pull
 * is base64url (with padding, which dockerd's decoder wants) of `{username, password,
 * serveraddress}`. The server encodes it and sends it with the task; the agent passes it through.
 */
import { z } from 'zod';
import { DOCKER_HUB, DOCKER_HUB_AUTH_ADDRESS } from '../model/image-parts.ts';

export const registryCredentialSchema = z.object({
  username: z.string().min(1).max(1024),
  password: z.string().min(1).max(8192),
});
export type RegistryCredential = z.infer<typeof registryCredentialSchema>;

/** The `X-Registry-Auth` value for a pull from `registry` with `credential`. */
export function registryAuthHeader(registry: string, credential: RegistryCredential): string {
  const body = {
    username: credential.username,
    password: credential.password,
    serveraddress: registry === DOCKER_HUB ? DOCKER_HUB_AUTH_ADDRESS : registry,
  };
  return Buffer.from(JSON.stringify(body)).toString('base64').replaceAll('+', '-').replaceAll('/', '_');
}

/** `Authorization: Basic …` for the registry's own API (digest resolution, token requests). */
export function basicAuthorization(credential: RegistryCredential): string {
  return `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString('base64')}`;
}
