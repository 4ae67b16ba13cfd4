/**
 * `skiff nodes`: the nodes table (capacity, allocation, age, labels).
 */
import { nodeViewSchema } from '../model/views.ts';
import { clientFromFlags, noPositionals, parseCommandArgs } from './command-args.ts';
import { COMMAND_OPTIONS } from './command-options.ts';
import { printText } from './output.ts';
import { printView } from './output-format.ts';
import { nodeListView } from './output-format-views.ts';
import { commandUsage } from './usage.ts';

export async function runNodes(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: COMMAND_OPTIONS.nodes,
  });
  if (values.help) return printText(commandUsage('nodes'));
  noPositionals(positionals);
  const nodes = await clientFromFlags(values).get('/api/nodes', nodeViewSchema.array());
  await printView(values, nodeListView(nodes, Date.now()));
}
