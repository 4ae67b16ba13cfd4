/**
 * Command-line parsing shared by every client command: `node:util` parseArgs with its errors turned
 * into `UsageError`s, and the options every command accepts (where the server is, how to
 * authenticate, `--help`).
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { ApiClient } from './api-client.ts';
import { type ConnectionFlags, processConnectionSources, resolveConnection } from './connection.ts';
import { UsageError } from './errors.ts';

export const connectionOptions = {
  server: { type: 'string' },
  token: { type: 'string' },
  'data-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const jsonOption = { json: { type: 'boolean' } } as const;

export type ParsedArgs<T extends ParseArgsConfig> = ReturnType<typeof parseArgs<T>>;

/** parseArgs, with its `ERR_PARSE_ARGS_*` errors (unknown flag, missing value) as usage errors. */
export function parseCommandArgs<const T extends ParseArgsConfig>(config: T): ParsedArgs<T> {
  try {
    return parseArgs(config);
  } catch (error) {
    if (error instanceof Error && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) {
      throw new UsageError(error.message);
    }
    throw error;
  }
}

/** Exactly one positional argument, named `what` in the error. */
export function singlePositional(positionals: readonly string[], what: string): string {
  const [first, ...rest] = positionals;
  if (first === undefined) throw new UsageError(`missing ${what}`);
  if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
  return first;
}

export function noPositionals(positionals: readonly string[]): void {
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
}

/** A client for the server the flags (or the environment) point at. */
export function clientFromFlags(flags: ConnectionFlags): ApiClient {
  return new ApiClient(resolveConnection(flags, processConnectionSources()));
}
