/**
 * `skiff servers`: the servers of the cluster (one, on SQLite; several on etcd), which one leads
 * and since when, and the store's health.
 */
import type { ServersView } from '../model/views.ts';
import { serversViewSchema } from '../model/views.ts';
import { clientFromFlags, noPositionals, parseCommandArgs } from './command-args.ts';
import { COMMAND_OPTIONS } from './command-options.ts';
import { formatSpan } from './human-units.ts';
import { printJson, printLines, printText } from './output.ts';
import { formatTable } from './table.ts';
import { commandUsage } from './usage.ts';

export async function runServers(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: COMMAND_OPTIONS.servers,
  });
  if (values.help) return printText(commandUsage('servers'));
  noPositionals(positionals);
  const view = await clientFromFlags(values).get('/api/servers', serversViewSchema);
  if (values.json) return printJson(view);
  printLines(formatServers(view, Date.now()));
}

/** The table, then one line on the store. */
export function formatServers(view: ServersView, nowMs: number): string[] {
  const since = (iso: string | null) => {
    const at = iso === null ? Number.NaN : Date.parse(iso);
    return Number.isNaN(at) ? '-' : formatSpan(nowMs - at);
  };
  const rows = view.servers.map((server) => [
    server.id,
    server.url,
    server.leader ? 'leader' : 'follower',
    server.leader ? since(server.leader_since) : '-',
    since(server.started_at),
  ]);
  const store = view.store;
  const health = store.writable ? 'writable' : `NOT WRITABLE: ${store.problem ?? 'unknown'}`;
  return [
    ...formatTable(['ID', 'URL', 'ROLE', 'LEADING FOR', 'UP'], rows),
    `store: ${store.kind} ${store.location} (${health})`,
  ];
}
