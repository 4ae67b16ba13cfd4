/**
 * When a certificate is renewed: at two thirds of its lifetime (Swarm and cert-manager do the
 * same), so a renewal that fails has a third of the lifetime left to be retried.
 */
export function renewalDueAtMs(validFromMs: number, validToMs: number): number {
  return validFromMs + Math.floor(((validToMs - validFromMs) * 2) / 3);
}

/** How often to look: a twentieth of the lifetime, between 1 s and 1 h. */
export function renewalCheckIntervalMs(lifetimeMs: number): number {
  return Math.min(3_600_000, Math.max(1000, Math.floor(lifetimeMs / 20)));
}
