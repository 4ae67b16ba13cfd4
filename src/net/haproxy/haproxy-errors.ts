/** The HAProxy backend's named errors. */

/** `--http-proxy haproxy` on a host without a usable `haproxy` (missing, or older than 2.2). */
export class HaproxyUnavailableError extends Error {
  override readonly name = 'HaproxyUnavailableError';
}

/** The configuration was refused (`haproxy -c`), or the process would not start or reload. */
export class HaproxyStartError extends Error {
  override readonly name = 'HaproxyStartError';
  /** What HAProxy said, when it said something. */
  readonly output: string;

  constructor(message: string, output = '') {
    super(output === '' ? message : `${message}: ${output.trim().split('\n').slice(-5).join(' | ')}`);
    this.output = output;
  }
}

/** A runtime-API command failed or was refused. */
export class HaproxyRuntimeError extends Error {
  override readonly name = 'HaproxyRuntimeError';
  readonly command: string;

  constructor(command: string, detail: string) {
    super(`haproxy runtime API: ${command}: ${detail}`);
    this.command = command;
  }
}
