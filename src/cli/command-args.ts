/**
 * Command-line parsing shared by every command: `node:util` parseArgs with its errors turned into
 * `UsageError`s (exit 2), positional checks, and the API client the connection flags point at.
 * The flags themselves are in command-options.ts.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { ApiClient } from './api-client.ts';
import { trustClusterCa } from './cluster-trust.ts';
import { type ConnectionFlags, processConnectionSources, resolveConnection } from './connection.ts';
import { UsageError } from './errors.ts';

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
  const connection = resolveConnection(flags, processConnectionSources());
  if (connection.caPem !== undefined) trustClusterCa(connection.caPem);
  return new ApiClient(connection);
}
