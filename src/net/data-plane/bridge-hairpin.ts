/**
 * Hairpin mode on the ports of the Skiff bridges, with iproute2 (netlink, so it works in the
 * agent's own network namespace; sysfs would show the host's). A replica that reaches its own
 * service can be DNATed to itself: with bridge netfilter on (Docker sets it), that frame is
 * bridged back out of the port it came in on, which a bridge only does for a port in hairpin
 * mode (kubelet's hairpin-veth; Docker does the same without its userland proxy). Each call turns
 * it on where it is off, so new containers' ports get it with the next apply.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export class HairpinError extends Error {
  override readonly name = 'HairpinError';
}

/** Pure: the ports of `ip -d -o link show master BRIDGE` whose hairpin mode is off. */
export function portsWithoutHairpin(output: string): string[] {
  const ports: string[] = [];
  for (const line of output.split('\n')) {
    const name = /^\d+:\s+([^:@\s]+)/.exec(line)?.[1];
    if (name && /\bhairpin off\b/.test(line)) ports.push(name);
  }
  return ports;
}

export async function enableHairpin(bridges: readonly string[]): Promise<void> {
  for (const bridge of bridges) {
    const { stdout } = await ip(['-d', '-o', 'link', 'show', 'master', bridge]);
    for (const port of portsWithoutHairpin(stdout)) {
      // A container that stopped meanwhile takes its port with it: not an error.
      await ip(['link', 'set', 'dev', port, 'type', 'bridge_slave', 'hairpin', 'on']).catch(() => {});
    }
  }
}

async function ip(args: readonly string[]): Promise<{ stdout: string }> {
  try {
    return await run('ip', [...args], { timeout: 5000 });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new HairpinError(`ip ${args.join(' ')}: ${stderr || (error as Error).message}`, { cause: error });
  }
}
