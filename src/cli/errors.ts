/**
 * The CLI's named errors. `main.ts` maps each to an exit status: a `UsageError` is the user's
 * command line (exit 2); the others are the server's answer, its absence, or a deploy that did not
 * converge (exit 1). Anything else is a bug and keeps its stack.
 */

/** The command line is wrong: an unknown flag, a missing argument, a value that does not parse. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The server answered with a non-2xx status; `message` and `details` are its error body. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  readonly details: readonly string[];

  constructor(status: number, message: string, details: readonly string[] = []) {
    super(message);
    this.status = status;
    this.details = details;
  }
}

/** The server could not be reached, or the connection dropped mid-response. */
export class ConnectionError extends Error {
  override readonly name = 'ConnectionError';
  readonly serverUrl: string;

  constructor(serverUrl: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.serverUrl = serverUrl;
  }
}

/** The server answered 2xx with a body that does not match the API's schema (version skew, a proxy). */
export class ResponseShapeError extends Error {
  override readonly name = 'ResponseShapeError';
}

/** `deploy`/`scale` waited and the service failed or ran out of time. */
export class ConvergenceError extends Error {
  override readonly name = 'ConvergenceError';
}

/** `up`, `server` or `agent` could not start (no Docker engine, say); the message says what to do. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

/**
 * The command printed its outcome already and only its exit status is left to give (`skiff rollout
 * status` of a failed or rolled-back rollout exits 1).
 */
export class ExitStatusError extends Error {
  override readonly name = 'ExitStatusError';
  readonly exitCode: number;
  constructor(exitCode: number, reason: string) {
    super(reason);
    this.exitCode = exitCode;
  }
}

/** The command `skiff exec` ran ended with this status, which becomes the CLI's own. */
export class RemoteExitError extends Error {
  override readonly name = 'RemoteExitError';
  readonly exitCode: number;
  constructor(exitCode: number) {
    super(`the command exited with status ${exitCode}`);
    this.exitCode = exitCode;
  }
}
