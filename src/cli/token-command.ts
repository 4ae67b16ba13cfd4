/**
 * `skiff token rotate join`: a new join secret. The token keeps the CA's digest; agents that
 * joined keep working on their node certificates, agents still to join need the new token.
 * `skiff ca rotate`: a new cluster CA (src/security/cluster-pki.ts), printing the new token.
 */
import { z } from 'zod';
import { clientFromFlags, parseCommandArgs } from './command-args.ts';
import { COMMAND_OPTIONS } from './command-options.ts';
import { UsageError } from './errors.ts';
import { printText } from './output.ts';
import { commandUsage } from './usage.ts';

const joinTokenSchema = z.object({ join_token: z.string(), ca_digest: z.string() });

export async function runToken(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: COMMAND_OPTIONS.token,
  });
  if (values.help) return printText(commandUsage('token'));
  if (positionals.join(' ') !== 'rotate join') throw new UsageError('expected "token rotate join"');
  const answer = await clientFromFlags(values).post('/api/join-token/rotate', {}, joinTokenSchema);
  printText(`${answer.join_token}\n`);
}

export async function runCa(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: COMMAND_OPTIONS.ca,
  });
  if (values.help) return printText(commandUsage('ca'));
  if (positionals.join(' ') !== 'rotate') throw new UsageError('expected "ca rotate"');
  const answer = await clientFromFlags(values).post('/api/ca/rotate', {}, joinTokenSchema);
  printText(`${answer.join_token}\n`);
}
