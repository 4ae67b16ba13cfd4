/**
 * When the agent pulls, and what it says when a pull fails. Pure.
 *
 * - A reference with a digest names one immutable image: present means no pull, ever.
 * - A tag with `pull: missing` (the default) is pulled only when absent: a present tag is never
 *   re-resolved against the registry (Swarm re-resolves on every task; we do not).
 * - A tag with `pull: always` is asked of the registry each time a container is created for it
 *   (the engine downloads only layers it lacks), as Kubernetes' `Always`.
 */

import { imageParts } from '../model/image-parts.ts';
import type { PullPolicy } from '../model/service-spec.ts';

export function needsPull(input: {
  reference: string;
  policy: PullPolicy | undefined;
  present: boolean;
}): boolean {
  if (imageParts(input.reference).digest !== null) return !input.present;
  return input.policy === 'always' || !input.present;
}

/** What registries say when a pull lacks a (valid) credential, in the engine's wording. */
const AUTH_FAILURE =
  /no basic auth credentials|unauthorized|authentication required|denied|incorrect username or password|401 Unauthorized/i;

/** The engine's plain-HTTP retry of an insecure registry, answered by a server that speaks only HTTPS. */
const HTTP_FALLBACK = /HTTP request to an HTTPS server/i;

/**
 * The engine's pull error with the cause spelt out for `skiff ps`: a refused credential, a
 * missing one (and the command that stores it), or a timeout. Starts with `pull ` as every pull
 * error does.
 */
export function explainPullFailure(
  message: string,
  context: { reference: string; withCredential: boolean; timeoutMs: number },
): string {
  const registry = imageParts(context.reference).registry;
  if (/timed out \(the pull timeout\)/.test(message))
    return `${message.replace(/timed out \(the pull timeout\)/, `timed out after ${Math.round(context.timeoutMs / 1000)} s (agent --pull-timeout)`)}`;
  const login = `skiff registry login ${registry}`;
  // A registry the engine holds insecure (loopback, `--insecure-registry`) is tried over plain
  // HTTP once HTTPS failed, so what the engine reports is the fallback's failure, not the cause.
  if (HTTP_FALLBACK.test(message)) {
    const cause = context.withCredential
      ? `registry ${registry} refused the pull over HTTPS: it refused the stored credential (${login} to replace it), or the engine does not trust its certificate`
      : `registry ${registry} refused the pull over HTTPS: it needs a credential and none is stored (${login}), or the engine does not trust its certificate`;
    return `${message} — ${cause}`;
  }
  if (!AUTH_FAILURE.test(message)) return message;
  const cause = context.withCredential
    ? `registry ${registry} refused the stored credential (${login} to replace it)`
    : `registry ${registry} needs a credential and none is stored (${login})`;
  return `${message} — ${cause}`;
}
