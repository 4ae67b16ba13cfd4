/**
 * Command-line parsing shared by every command: `node:util` parseArgs with its errors turned into
 * `UsageError`s (exit 2), positional checks, and the API client the connection flags point at.
 * The flags themselves are in command-options.ts.
 */
import { ApiClient } from './api-client.ts';
import { trustClusterCa } from './cluster-trust.ts';
import { type ConnectionFlags, processConnectionSources, resolveConnection } from './connection.ts';

export { noPositionals, type ParsedArgs, parseCommandArgs, singlePositional } from './parse-args.ts';

/** A client for the server the flags (or the environment) point at. */
export function clientFromFlags(flags: ConnectionFlags): ApiClient {
  const connection = resolveConnection(flags, processConnectionSources());
  if (connection.caPem !== undefined) trustClusterCa(connection.caPem);
  return new ApiClient(connection);
}
