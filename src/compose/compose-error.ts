/**
 * What is wrong with a Compose file, where: file, line and key, printed the way compilers do
 * (`compose.yml:12: services.web.deploy.mode: …`) so an editor can jump there.
 */
export class ComposeError extends Error {
  override readonly name = 'ComposeError';
  readonly file: string;
  readonly line: number;
  readonly key: string | undefined;
  readonly reason: string;

  constructor(file: string, line: number, key: string | undefined, reason: string) {
    super(`${file}:${line}: ${key === undefined ? '' : `${key}: `}${reason}`);
    this.file = file;
    this.line = line;
    this.key = key;
    this.reason = reason;
  }
}
