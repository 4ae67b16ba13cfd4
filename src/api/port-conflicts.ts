/**
 * Published ports that cannot work: an ingress port is served on every node, so it collides with
 * the same port of any other service (ingress or host mode), and with the Skiff server's own
 * port. Agents would otherwise skip the second claimant silently; the deploy is refused instead,
 * naming who holds the port. Host-mode ports of two services may share a number: the scheduler
 * keeps them on different nodes.
 */
import type { PortSpec, ServiceSpec } from '../model/service-spec.ts';

export interface PortConflict {
  readonly port: number;
  readonly protocol: PortSpec['protocol'];
  /** The service holding the port, or undefined when it is the Skiff server's own. */
  readonly heldBy: string | undefined;
}

export function publishedPortConflict(
  spec: ServiceSpec,
  others: readonly ServiceSpec[],
  serverPort: number | undefined,
): PortConflict | undefined {
  for (const port of spec.ports) {
    if (port.host_port === undefined) continue;
    const { host_port: hostPort, protocol } = port;
    if (protocol === 'tcp' && hostPort === serverPort) return { port: hostPort, protocol, heldBy: undefined };
    for (const other of others) {
      if (other.name === spec.name) continue;
      const clash = other.ports.some(
        (theirs) =>
          theirs.host_port === hostPort &&
          theirs.protocol === protocol &&
          (port.mode === 'ingress' || theirs.mode === 'ingress'),
      );
      if (clash) return { port: hostPort, protocol, heldBy: other.name };
    }
  }
  return undefined;
}

export function describeConflict(conflict: PortConflict): string {
  const port = `${conflict.protocol} port ${conflict.port}`;
  return conflict.heldBy === undefined
    ? `${port} is the Skiff server's own port`
    : `${port} is already published by service ${conflict.heldBy}`;
}
