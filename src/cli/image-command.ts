/**
 * `skiff image ls [--node N]`: every node's images (node, repository:tag, id, size, in use by,
 * pulled by Skiff), as the agents last reported them. `skiff image prune [--node N]`: the agents
 * remove, now, the unused images Skiff pulled (never one it did not pull, never one in use or
 * needed by a desired task), and say what they removed.
 */
import { z } from 'zod';
import type { ImagePruneView, ImageView } from '../model/image-view.ts';
import { imagePruneViewSchema, imageViewSchema } from '../model/image-view.ts';
import { clientFromFlags, parseCommandArgs } from './command-args.ts';
import { COMMAND_OPTIONS } from './command-options.ts';
import { UsageError } from './errors.ts';
import { formatBytes } from './human-units.ts';
import { printText } from './output.ts';
import type { View } from './output-format.ts';
import { outputFormatFrom, printView } from './output-format.ts';
import { formatTable } from './table.ts';
import { commandUsage } from './usage.ts';

export async function runImage(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: COMMAND_OPTIONS.image,
  });
  if (values.help) return printText(commandUsage('image'));
  const [action, ...rest] = positionals;
  if (rest.length > 0) throw new UsageError(`image ${action}: unexpected ${rest.join(' ')}`);
  outputFormatFrom(values);
  const client = clientFromFlags(values);
  const node = values.node;
  if (action === 'ls') {
    const query = node === undefined ? '' : `?node=${encodeURIComponent(node)}`;
    const rows = await client.get(`/api/images${query}`, z.array(imageViewSchema));
    return printView(values, imageListView(rows));
  }
  if (action === 'prune') {
    const result = await client.post(
      '/api/images/prune',
      node === undefined ? {} : { node },
      imagePruneViewSchema,
    );
    return printView(values, pruneView(result));
  }
  throw new UsageError(
    action ? `image: unknown action ${action}` : 'image: an action is required (ls, prune)',
  );
}

export function imageName(row: Pick<ImageView, 'repository' | 'tag'>): string {
  if (row.repository === null) return '<none>';
  return row.tag === null ? `${row.repository}@<digest>` : `${row.repository}:${row.tag}`;
}

function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

function users(row: ImageView): string {
  if (row.in_use_count === 0) return '-';
  const more = row.in_use_count - row.in_use_by.length;
  return `${row.in_use_by.join(',')}${more > 0 ? ` +${more}` : ''}`;
}

/** Pure: the rows as table, wide table (digest, last use) and names (`node/repository:tag`). */
export function imageListView(rows: readonly ImageView[]): View {
  const cells = (row: ImageView) => [
    row.node,
    imageName(row),
    shortId(row.id),
    formatBytes(row.size_bytes),
    users(row),
    row.pulled_by_skiff ? 'yes' : 'no',
  ];
  const header = ['NODE', 'IMAGE', 'ID', 'SIZE', 'IN USE BY', 'PULLED BY SKIFF'];
  return {
    data: rows,
    table: () => formatTable(header, rows.map(cells)),
    wide: () =>
      formatTable(
        [...header, 'DIGEST', 'LAST USED'],
        rows.map((row) => [...cells(row), row.digest ?? '-', row.last_used_at ?? '-']),
      ),
    names: () => rows.map((row) => `${row.node}/${row.repository === null ? row.id : imageName(row)}`),
  };
}

/** Pure: what each node removed, and the total. */
export function pruneView(result: ImagePruneView): View {
  return {
    data: result,
    table: () => {
      const lines: string[] = [];
      for (const node of result.nodes) {
        if (node.error !== null) lines.push(`${node.node}: not pruned: ${node.error}`);
        for (const image of node.removed)
          lines.push(
            `${node.node}: removed ${image.references.join(', ')} (${shortId(image.id)}, ${formatBytes(image.size_bytes)})`,
          );
        if (node.error === null && node.removed.length === 0) lines.push(`${node.node}: nothing to remove`);
      }
      if (result.nodes.length === 0) lines.push('no connected node to prune');
      lines.push(`Total reclaimed space: ${formatBytes(result.reclaimed_bytes)}`);
      return lines;
    },
    names: () => result.nodes.flatMap((node) => node.removed.map((image) => `${node.node}/${image.id}`)),
  };
}
