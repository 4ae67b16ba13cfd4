/**
 * `skiff rm NAME [--volumes]`: deletes a service (the server stops its replicas) and says so; its
 * named volumes stay unless --volumes (each node removes them once no container has them).
 */
import { z } from 'zod';
import { servicePath } from './api-client.ts';
import { clientFromFlags, parseCommandArgs, singlePositional } from './command-args.ts';
import { COMMAND_OPTIONS } from './command-options.ts';
import { printLines, printText } from './output.ts';
import { commandUsage } from './usage.ts';

const deletedSchema = z.object({ deleted: z.string(), volumes: z.array(z.string()).optional() });

export async function runRm(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: COMMAND_OPTIONS.rm,
  });
  if (values.help) return printText(commandUsage('rm'));
  const name = singlePositional(positionals, 'service NAME');
  const path = values.volumes ? `${servicePath(name)}?volumes=true` : servicePath(name);
  const { deleted, volumes } = await clientFromFlags(values).delete(path, deletedSchema);
  printLines([
    volumes === undefined
      ? `removed ${deleted}`
      : `removed ${deleted}${volumes.length > 0 ? ` and its volumes ${volumes.join(', ')}` : ' (it had no volumes)'}`,
  ]);
}
