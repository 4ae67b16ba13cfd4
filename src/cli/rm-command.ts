/**
 * `skiff rm NAME`: deletes a service (the server stops its replicas) and says so.
 */
import { z } from 'zod';
import { servicePath } from './api-client.ts';
import { clientFromFlags, parseCommandArgs, singlePositional } from './command-args.ts';
import { COMMAND_OPTIONS } from './command-options.ts';
import { printLines, printText } from './output.ts';
import { commandUsage } from './usage.ts';

const deletedSchema = z.object({ deleted: z.string() });

export async function runRm(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: COMMAND_OPTIONS.rm,
  });
  if (values.help) return printText(commandUsage('rm'));
  const name = singlePositional(positionals, 'service NAME');
  const { deleted } = await clientFromFlags(values).delete(servicePath(name), deletedSchema);
  printLines([`removed ${deleted}`]);
}
