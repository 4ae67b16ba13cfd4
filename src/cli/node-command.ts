/**
 * `skiff node cordon|uncordon|drain|label|rm NODE`: operations on one node. Each prints the node's
 * new state as one line (or the node's JSON with --json).
 */
import { z } from 'zod';
import { nodeViewSchema } from '../model/views.ts';
import { clientFromFlags, parseCommandArgs } from './command-args.ts';
import { COMMAND_OPTIONS } from './command-options.ts';
import { UsageError } from './errors.ts';
import { parseKeyValueFlag } from './flag-values.ts';
import { printLines, printText } from './output.ts';
import { outputFormatFrom, printView } from './output-format.ts';
import { objectView } from './output-format-views.ts';
import { commandUsage } from './usage.ts';

const ACTIONS = ['cordon', 'uncordon', 'drain', 'label', 'rm'] as const;
type NodeAction = (typeof ACTIONS)[number];

export async function runNode(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: COMMAND_OPTIONS.node,
  });
  if (values.help) return printText(commandUsage('node'));
  const [action, id, ...rest] = positionals;
  if (!isAction(action))
    throw new UsageError(`node: expected one of ${ACTIONS.join(', ')}, got ${action ?? 'nothing'}`);
  if (!id) throw new UsageError(`node ${action}: a NODE is required`);
  if (action !== 'label' && rest.length > 0)
    throw new UsageError(`node ${action}: unexpected ${rest.join(' ')}`);
  outputFormatFrom(values);
  const client = clientFromFlags(values);
  const path = `/api/nodes/${encodeURIComponent(id)}`;
  if (action === 'rm') {
    const { deleted } = await client.delete(path, z.object({ deleted: z.string() }));
    return printLines([`removed node ${deleted}`]);
  }
  const node =
    action === 'label'
      ? await client.put(`${path}/labels`, { labels: labelsFrom(rest) }, nodeViewSchema)
      : await client.post(`${path}/${action}`, {}, nodeViewSchema);
  const labels = Object.entries(node.labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  await printView(
    values,
    objectView(node, node.name, () => [
      `node ${node.id}: ${node.status}, ${node.availability}${labels ? `, labels ${labels}` : ''}`,
    ]),
  );
}

function isAction(value: string | undefined): value is NodeAction {
  return (ACTIONS as readonly (string | undefined)[]).includes(value);
}

function labelsFrom(pairs: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of pairs) {
    const [key, value] = parseKeyValueFlag('label', pair);
    labels[key] = value;
  }
  return labels;
}
