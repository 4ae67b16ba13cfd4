/**
 * The health tracker: folds probe results into a replica's health, Docker-style. A replica is
 * `starting` until its first passing probe; `retries` failures in a row make it `unhealthy`; one
 * pass makes it `healthy` again. Failures inside `start_period` do not count while it has never
 * been healthy (a slow starter is not a sick one). Pure: time comes in as `now`.
 */
export type TrackedHealth = 'starting' | 'healthy' | 'unhealthy';

export interface HealthState {
  readonly status: TrackedHealth;
  readonly failures: number;
  readonly lastMessage: string | null;
  /** When it last became healthy (epoch ms); null while not healthy. */
  readonly healthySince: number | null;
}

export interface HealthSettings {
  readonly retries: number;
  readonly startPeriodMs: number;
}

export interface ProbeResult {
  readonly ok: boolean;
  readonly message: string;
}

export const INITIAL_HEALTH: HealthState = {
  status: 'starting',
  failures: 0,
  lastMessage: null,
  healthySince: null,
};

export interface Tracked {
  readonly state: HealthState;
  /** Set when the status changed with this result. */
  readonly transition: TrackedHealth | null;
}

export function trackHealth(
  state: HealthState,
  result: ProbeResult,
  settings: HealthSettings,
  startedAt: number,
  now: number,
): Tracked {
  if (result.ok) {
    const healthySince = state.status === 'healthy' ? state.healthySince : now;
    const next: HealthState = { status: 'healthy', failures: 0, lastMessage: result.message, healthySince };
    return { state: next, transition: state.status === 'healthy' ? null : 'healthy' };
  }
  const graced = state.status === 'starting' && now - startedAt < settings.startPeriodMs;
  if (graced) return { state: { ...state, lastMessage: result.message }, transition: null };
  const failures = state.failures + 1;
  const status = failures >= settings.retries ? 'unhealthy' : state.status;
  return {
    state: {
      status,
      failures,
      lastMessage: result.message,
      healthySince: status === 'healthy' ? state.healthySince : null,
    },
    transition: status !== state.status ? status : null,
  };
}
