/**
 * `skiff volume ls|inspect NAME|rm NAME [--node NODE]|move NAME --to NODE`: where the cluster's
 * volumes are (a row per node holding one), which replica each belongs to and who mounts it;
 * removing one (its data is lost); moving one's replica to another node, where it starts with an
 * empty volume (volumes are local to a node; the data stays where it was).
 */
import { z } from 'zod';
import { type VolumeView, volumeRemoveViewSchema, volumeViewSchema } from '../model/volume-view.ts';
import { clientFromFlags, parseCommandArgs } from './command-args.ts';
import { COMMAND_OPTIONS } from './command-options.ts';
import { UsageError } from './errors.ts';
import { formatLocalTime } from './human-units.ts';
import { printLines, printText } from './output.ts';
import { outputFormatFrom, printView } from './output-format.ts';
import { listView } from './output-format-views.ts';
import { commandUsage } from './usage.ts';

const ACTIONS = ['ls', 'inspect', 'rm', 'move'] as const;

export async function runVolume(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: COMMAND_OPTIONS.volume,
  });
  if (values.help) return printText(commandUsage('volume'));
  const [action, name, ...rest] = positionals;
  if (!(ACTIONS as readonly (string | undefined)[]).includes(action))
    throw new UsageError(`volume: expected one of ${ACTIONS.join(', ')}, got ${action ?? 'nothing'}`);
  if (rest.length > 0) throw new UsageError(`volume ${action}: unexpected ${rest.join(' ')}`);
  if (action !== 'ls' && !name) throw new UsageError(`volume ${action}: a NAME is required`);
  if (action === 'ls' && name) throw new UsageError(`volume ls: unexpected ${name}`);
  outputFormatFrom(values);
  const client = clientFromFlags(values);
  const path = `/api/volumes/${encodeURIComponent(name ?? '')}`;
  if (action === 'ls' || action === 'inspect') {
    const rows = await client.get(action === 'ls' ? '/api/volumes' : path, z.array(volumeViewSchema));
    return printView(values, volumeListView(rows));
  }
  if (action === 'rm') {
    const node = typeof values.node === 'string' ? `?node=${encodeURIComponent(values.node)}` : '';
    const removed = await client.delete(`${path}${node}`, volumeRemoveViewSchema);
    const where = removed.nodes.length > 0 ? ` (asked ${removed.nodes.join(', ')})` : '';
    return printLines([
      `removing volume ${removed.removing}${where}: each node removes it once no container has it`,
    ]);
  }
  if (typeof values.to !== 'string') throw new UsageError('volume move: --to NODE is required');
  const rows = await client.post(`${path}/move`, { to: values.to }, z.array(volumeViewSchema));
  return printView(values, volumeListView(rows));
}

export function volumeListView(rows: readonly VolumeView[]) {
  return listView(
    rows,
    ['NAME', 'NODE', 'STATE', 'REPLICA', 'USED BY', 'CREATED'],
    rows.map((r) => [
      r.name,
      r.node_status === null || r.node_status === 'ready' ? r.node : `${r.node} (${r.node_status})`,
      r.state,
      r.replica ?? '-',
      r.used_by.length === 0 ? '-' : r.used_by.map((u) => u.replica ?? u.task_id.slice(0, 12)).join(','),
      r.created_at === null ? '-' : formatLocalTime(r.created_at),
    ]),
    rows.map((r) => r.name),
  );
}
