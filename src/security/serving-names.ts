/**
 * The names a serving certificate carries: every address the server listens on (all interface
 * addresses for a wildcard listen), loopback, the host name, and the operator's `--san` names.
 */
import type { NetworkInterfaceInfo } from 'node:os';

/**
 * The name agents ask for (TLS SNI) and verify the server by: the cluster's own serving
 * certificate always carries it, so an agent verifies the server against the cluster CA even when
 * people are served an operator's certificate (`--tls-cert`). `.invalid` never resolves (RFC 2606).
 */
export const AGENT_SERVERNAME = 'agents.skiff.invalid';

export function servingNames(input: {
  readonly listen: string;
  readonly interfaces: Readonly<Record<string, readonly NetworkInterfaceInfo[] | undefined>>;
  readonly hostname: string;
  readonly extra: readonly string[];
}): string[] {
  const wildcard = input.listen === '0.0.0.0' || input.listen === '::' || input.listen === '';
  const addresses = wildcard
    ? Object.values(input.interfaces).flatMap((list) =>
        (list ?? []).map((i) => i.address.split('%')[0] ?? ''),
      )
    : [input.listen];
  const names = [
    'localhost',
    '127.0.0.1',
    '::1',
    input.hostname,
    ...addresses,
    ...input.extra,
    AGENT_SERVERNAME,
  ];
  return [...new Set(names.map((n) => n.trim()).filter((n) => n !== ''))];
}
