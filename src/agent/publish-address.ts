/**
 * Where the engine publishes a replica's node-to-node ports (the engine-chosen port other nodes'
 * rules DNAT to): the node's cluster address, so that a container of another Skiff network on
 * this host cannot reach them through its own gateway, as it could on 0.0.0.0. Pure.
 *
 * Left on every address (undefined) when the cluster address cannot be bound here: it is not an
 * IPv4 address of this host (a NAT'd public address), or the engine is on another host. The
 * netfilter filter (only other nodes' addresses) is keyed on the same address, so it is off then too.
 */
import { isIPv4 } from 'node:net';
import type { HostNetworks } from './pool-overlap.ts';

export interface PublishAddressInput {
  /** The node's address as registered (`--address`, 127.0.0.1 by default). */
  readonly address: string;
  readonly host: HostNetworks;
  readonly engineOnThisHost: boolean;
}

export function publishAddress(input: PublishAddressInput): string | undefined {
  if (!input.engineOnThisHost || !isIPv4(input.address)) return undefined;
  // Loopback is always ours, and Node lists it only when the interface is up.
  if (input.address.startsWith('127.')) return input.address;
  const own = input.host.addresses.some((a) => a.cidr.split('/')[0] === input.address);
  return own ? input.address : undefined;
}

/** Why replica ports stay on every address, for the log; undefined when they do not. */
export function publishAddressWarning(input: PublishAddressInput): string | undefined {
  if (publishAddress(input) !== undefined) return undefined;
  if (!input.engineOnThisHost) return undefined;
  return (
    `replica ports are published on every address of this host, not only on the cluster address ${input.address}: ` +
    'it is not an IPv4 address of this host (give --address one of its own addresses to restrict them)'
  );
}
