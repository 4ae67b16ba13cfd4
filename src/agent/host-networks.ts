/**
 * Reads this host's IPv4 addresses (Node's view of the interfaces) and its main routing table
 * (`ip -j -4 route`), for the pool overlap check. A host without iproute2 is checked on its
 * addresses alone.
 */
import { execFile } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import { promisify } from 'node:util';
import { z } from 'zod';
import type { HostNetworks } from './pool-overlap.ts';

const run = promisify(execFile);

const routesSchema = z.array(z.object({ dst: z.string(), dev: z.string().optional() }));

export async function readHostNetworks(log: (message: string) => void): Promise<HostNetworks> {
  const addresses = Object.entries(networkInterfaces()).flatMap(([device, list]) =>
    (list ?? [])
      .filter((a) => a.family === 'IPv4' && a.cidr !== null)
      .map((a) => ({ device, cidr: a.cidr ?? '' })),
  );
  let routes: HostNetworks['routes'] = [];
  try {
    const { stdout } = await run('ip', ['-j', '-4', 'route', 'show', 'table', 'main'], { timeout: 5000 });
    routes = routesSchema.parse(JSON.parse(stdout)).map((r) => ({ destination: r.dst, device: r.dev }));
  } catch (error) {
    log(
      `address pool check: cannot read routes (${error instanceof Error ? error.message : String(error)}); checking addresses only`,
    );
  }
  return { addresses, routes };
}
