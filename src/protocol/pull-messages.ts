/**
 * Pre-pulling on the agent link (reconciler/pre-pull.ts): the server asks an agent to have an
 * image (`image.pull`) before a rollout replaces anything; the agent answers with
 * `image.pull_status` as the pull starts and ends (`pulled` also when the image was already
 * there). `request_id` names the rollout's pull phase, so an answer from an earlier phase is
 * never taken for this one. Only agents announcing the `pre-pull` feature are asked, and an agent
 * answers only what it was asked, so neither side sends a message the other does not know.
 * Spread into the unions of messages.ts.
 */
import { z } from 'zod';
import { boundedTextSchema, idTextSchema, MAX_STATUS_MESSAGE_CHARS } from '../model/bounds.ts';

const imageSchema = z.string().min(1).max(1024);

export const pullServerMessages = [
  z.object({
    type: z.literal('image.pull'),
    request_id: idTextSchema,
    /** The service whose rollout asks (for the agent's events and pull metrics). */
    service: idTextSchema,
    image: imageSchema,
    /** The `X-Registry-Auth` for the image's registry, when the cluster holds a credential (never saved). */
    registry_auth: z.string().max(16_384).optional(),
  }),
] as const;

export const pullAgentMessages = [
  z.object({
    type: z.literal('image.pull_status'),
    request_id: idTextSchema,
    image: imageSchema,
    state: z.enum(['pulling', 'pulled', 'failed']),
    /** Why it failed (the engine's words); null otherwise. */
    error: boundedTextSchema(MAX_STATUS_MESSAGE_CHARS).nullable(),
  }),
] as const;
