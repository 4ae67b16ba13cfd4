/**
 * The store's named errors, shared by both implementations (SQLite, etcd) and mapped once by the
 * API (`src/api/app.ts`: 409 for allocation and conflict, 503 for the rest, naming the cause) and
 * the CLI. A write that fails with one of these left nothing behind: the store's view is back to
 * what was committed before it.
 */

/** No index is left for a new network or service. */
export class AllocationExhaustedError extends Error {
  override readonly name = 'AllocationExhaustedError';
  constructor(kind: string, size: number) {
    super(`all ${size} ${kind} addresses are in use`);
  }
}

/**
 * The write guard (`Store.setWriteGuard`) no longer holds: this server lost the leadership the
 * guard names (its lease expired, or another server took the key), so it must stop acting.
 */
export class NotLeaderError extends Error {
  override readonly name = 'NotLeaderError';
  readonly guardKey: string;
  constructor(guardKey: string, detail: string) {
    super(`not the leader: ${detail} (guard key ${guardKey})`);
    this.guardKey = guardKey;
  }
}

/**
 * The store cannot take writes now: etcd has lost quorum or cannot be reached within the write
 * deadline, or its space quota alarm (NOSPACE) is raised. `cause` says which, in words an operator
 * can act on; reads keep being served from the last state seen.
 */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
  readonly reason: 'no-quorum' | 'unreachable' | 'no-space' | 'closed';
  constructor(reason: StoreUnavailableError['reason'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}

/**
 * Another server changed what this write was decided on (the same service, task or allocation)
 * before it was committed. Nothing was written; the store has caught up, so the caller may decide
 * again (a controller pass simply runs again; an API request answers 409).
 */
export class StoreConflictError extends Error {
  override readonly name = 'StoreConflictError';
  readonly keys: readonly string[];
  constructor(keys: readonly string[]) {
    super(
      `the cluster state changed under this write (another server wrote ${keys.slice(0, 3).join(', ')}${keys.length > 3 ? ', …' : ''}); try again`,
    );
    this.keys = keys;
  }
}

export function isStoreWriteError(
  error: unknown,
): error is NotLeaderError | StoreUnavailableError | StoreConflictError {
  return (
    error instanceof NotLeaderError ||
    error instanceof StoreUnavailableError ||
    error instanceof StoreConflictError
  );
}
