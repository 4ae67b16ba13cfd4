/**
 * `skiff ps [NAME]`: the services table, or one service's header line and replica table.
 */
import { serviceViewSchema } from '../model/views.ts';
import { servicePath } from './api-client.ts';
import { clientFromFlags, parseCommandArgs } from './command-args.ts';
import { COMMAND_OPTIONS } from './command-options.ts';
import { UsageError } from './errors.ts';
import { printText } from './output.ts';
import { printView } from './output-format.ts';
import { serviceDetailView, serviceListView } from './output-format-views.ts';
import { commandUsage } from './usage.ts';

export async function runPs(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: COMMAND_OPTIONS.ps,
  });
  if (values.help) return printText(commandUsage('ps'));
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
  const [name] = positionals;
  const client = clientFromFlags(values);

  if (name === undefined) {
    const services = await client.get('/api/services', serviceViewSchema.array());
    return printView(values, serviceListView(services));
  }
  const service = await client.get(servicePath(name), serviceViewSchema);
  await printView(values, serviceDetailView(service, Date.now()));
}
