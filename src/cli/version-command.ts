/**
 * `skiff version [--client]`: this skiff's release, commit, build date and the API and agent
 * protocol versions it speaks; with a server reachable (and `--client` not given), the server's
 * too, so an operator mid-upgrade sees which side runs what. An unreachable server is said on
 * stderr and is not an error: the client's part still answers.
 */
import { buildInfo } from '../build/build-info.ts';
import { API_VERSION, type VersionView, versionViewSchema } from '../model/version-view.ts';
import { PROTOCOL_VERSION } from '../protocol/features.ts';
import { ApiClient } from './api-client.ts';
import { trustClusterCa } from './cluster-trust.ts';
import { noPositionals, parseCommandArgs } from './command-args.ts';
import { COMMAND_OPTIONS } from './command-options.ts';
import { processConnectionSources, resolveConnection } from './connection.ts';
import { printText } from './output.ts';
import { printView } from './output-format.ts';
import { commandUsage } from './usage.ts';

/** A server that does not answer this fast is reported as unreachable. */
const SERVER_TIMEOUT_MS = 3000;

export function clientVersion(): VersionView {
  const info = buildInfo();
  return {
    version: info.version,
    commit: info.commit,
    build_date: info.buildDate,
    build: info.flavour,
    api_version: API_VERSION,
    protocol_version: PROTOCOL_VERSION,
  };
}

export interface VersionReport {
  readonly client: VersionView;
  readonly server: (VersionView & { readonly url: string }) | null;
}

export function versionLines(report: VersionReport): string[] {
  const side = (title: string, view: VersionView) => [
    title,
    `  Version:     ${view.version} (${view.build})`,
    `  Commit:      ${view.commit}`,
    `  Built:       ${view.build_date}`,
    `  API:         ${view.api_version}`,
    `  Protocol:    ${view.protocol_version}${
      view.agent_protocols
        ? ` (accepts agents of protocol ${view.agent_protocols.min}-${view.agent_protocols.max})`
        : ''
    }`,
  ];
  const lines = side('Client:', report.client);
  if (report.server !== null) lines.push(...side(`Server: ${report.server.url}`, report.server));
  return lines;
}

export async function runVersion(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs({ args: argv, options: COMMAND_OPTIONS.version });
  if (values.help) return printText(commandUsage('version'));
  noPositionals(positionals);
  const client = clientVersion();
  const server = values.client ? null : await serverVersion(values);
  const report: VersionReport = { client, server };
  printView(values, { data: report, table: () => versionLines(report), names: () => [client.version] });
}

async function serverVersion(flags: {
  server?: string;
  token?: string;
  'data-dir'?: string;
  ca?: string;
}): Promise<VersionReport['server']> {
  const connection = resolveConnection(flags, processConnectionSources());
  if (connection.caPem !== undefined) trustClusterCa(connection.caPem);
  const api = new ApiClient(connection, (url, init) =>
    globalThis.fetch(url, { ...init, signal: AbortSignal.timeout(SERVER_TIMEOUT_MS) }),
  );
  try {
    return { url: connection.serverUrl, ...(await api.get('/api/version', versionViewSchema)) };
  } catch (error) {
    process.stderr.write(
      `Server: ${connection.serverUrl}: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return null;
  }
}
