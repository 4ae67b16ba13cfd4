/**
 * Service VIPs as /32 addresses on the Skiff bridges, managed with iproute2 (`ip addr`): the
 * proxy can only listen on an address the host has. Level-triggered: each call adds what is
 * missing and removes what is no longer wanted, on the bridges it is told about.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export class VipError extends Error {
  override readonly name = 'VipError';
}

export async function syncVips(
  wanted: readonly { readonly bridge: string; readonly address: string }[],
  bridges: readonly string[],
): Promise<void> {
  for (const bridge of bridges) {
    const want = new Set(wanted.filter((v) => v.bridge === bridge).map((v) => v.address));
    const have = await vipsOn(bridge);
    for (const address of want)
      if (!have.has(address)) await ip(['addr', 'add', `${address}/32`, 'dev', bridge]);
    for (const address of have)
      if (!want.has(address)) await ip(['addr', 'del', `${address}/32`, 'dev', bridge]);
  }
}

/** The /32 addresses on a bridge: ours (the gateway has the network's prefix length). */
async function vipsOn(bridge: string): Promise<Set<string>> {
  const { stdout } = await ip(['-4', '-o', 'addr', 'show', 'dev', bridge]);
  const found = new Set<string>();
  for (const match of stdout.matchAll(/inet (\d+\.\d+\.\d+\.\d+)\/32/g)) if (match[1]) found.add(match[1]);
  return found;
}

async function ip(args: readonly string[]): Promise<{ stdout: string }> {
  try {
    return await run('ip', [...args], { timeout: 5000 });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new VipError(`ip ${args.join(' ')}: ${stderr || (error as Error).message}`, { cause: error });
  }
}
