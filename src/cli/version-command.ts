/**
 * `skiff version [--client]`: this skiff's release, commit, build date and the API and agent
 * protocol versions it speaks; with a server reachable (and `--client` not given), the server's
 * too, so an operator mid-upgrade sees which side runs what. An unreachable server is said on
 * stderr and is not an error: the client's part still answers.
 */
import { buildVersionView } from '../build/build-version-view.ts';
import type { VersionView } from '../model/version-view.ts';
import { COMMAND_OPTIONS } from './command-options.ts';
import { printText } from './output.ts';
import { printView } from './output-format.ts';
import { noPositionals, parseCommandArgs } from './parse-args.ts';
import { commandUsage } from './usage.ts';

export function clientVersion(): VersionView {
  return buildVersionView();
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
  // The HTTP client and schemas load only when the server is asked (a cold `--client` stays quick).
  const server = values.client ? null : await (await import('./version-server.ts')).serverVersion(values);
  const report: VersionReport = { client, server };
  await printView(values, { data: report, table: () => versionLines(report), names: () => [client.version] });
}
