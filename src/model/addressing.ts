/**
 * Where things live on each host's Skiff networks. Network n (an index the server allocates) is
 * the /20 at 10.240.0.0 + n × 4096, on a bridge named `skiff<n>`: containers get addresses from
 * its first half, the gateway (the agent's DNS) is .1, and each service on it has a virtual IP
 * (where the agent's proxy listens) in the second half at 2048 + the service's index. The same
 * plan on every host, so nothing about addresses needs to be exchanged.
 */
export const MAX_NETWORKS = 256;
export const MAX_SERVICES = 2046;

const BASE = ip4ToNumber('10.240.0.0');
const NETWORK_SIZE = 4096;
const VIP_OFFSET = 2048;

export interface NetworkAddressing {
  readonly bridge: string;
  readonly subnet: string;
  readonly ipRange: string;
  readonly gateway: string;
}

export function networkAddressing(index: number): NetworkAddressing {
  if (!Number.isInteger(index) || index < 0 || index >= MAX_NETWORKS) {
    throw new RangeError(`network index out of range: ${index}`);
  }
  const base = BASE + index * NETWORK_SIZE;
  return {
    bridge: `skiff${index}`,
    subnet: `${numberToIp4(base)}/20`,
    ipRange: `${numberToIp4(base)}/21`,
    gateway: numberToIp4(base + 1),
  };
}

export function serviceVip(networkIndex: number, serviceIndex: number): string {
  if (!Number.isInteger(serviceIndex) || serviceIndex < 1 || serviceIndex > MAX_SERVICES) {
    throw new RangeError(`service index out of range: ${serviceIndex}`);
  }
  return numberToIp4(BASE + networkAddressingBase(networkIndex) + VIP_OFFSET + serviceIndex);
}

/** Whether an address is in network n's /20 (a client of that network, for isolation). */
export function inNetwork(address: string, networkIndex: number): boolean {
  const value = ip4ToNumber(address.replace(/^::ffff:/, ''));
  if (Number.isNaN(value)) return false;
  const base = BASE + networkAddressingBase(networkIndex);
  return value >= base && value < base + NETWORK_SIZE;
}

/** Whether an address is in any Skiff network (10.240.0.0/12). */
export function isSkiffAddress(address: string): boolean {
  const value = ip4ToNumber(address);
  return !Number.isNaN(value) && value >= BASE && value < BASE + MAX_NETWORKS * NETWORK_SIZE;
}

function networkAddressingBase(index: number): number {
  networkAddressing(index);
  return index * NETWORK_SIZE;
}

function ip4ToNumber(address: string): number {
  const parts = address.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return Number.NaN;
  return parts.reduce((n, p) => n * 256 + p, 0);
}

function numberToIp4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}
