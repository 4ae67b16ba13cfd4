/**
 * Where things live on each host's Skiff networks. A cluster's address pool (`--address-pool`,
 * default 10.240.0.0/12, fixed at the cluster's first start) is cut into /20 networks: network n
 * (an index the server allocates) is the /20 at the pool's base + n × 4096. Containers get
 * addresses from its first half, the gateway (the agent's DNS) is .1, and each service on it has
 * a virtual IP in the second half at 2048 + the service's index. The same plan on every host, so
 * nothing about addresses needs to be exchanged beyond the pool.
 *
 * Bridges and Docker networks are named after the cluster (`skiff<tag>-<n>`, `skiff-<tag>-<name>`,
 * the tag being the cluster id's first 6 characters), so two clusters with different pools share
 * an engine without collisions, and an agent tells its own bridges from everything else by name.
 */

/** The pool a cluster gets when `--address-pool` is not given (and the one older clusters used). */
export const DEFAULT_ADDRESS_POOL = '10.240.0.0/12';
export const MAX_SERVICES = 2046;
/** Every network is a /20: 2048 container addresses and 2046 service VIPs. */
export const NETWORK_PREFIX_LENGTH = 20;
/** The largest pool: 256 networks (more than a cluster needs; bridge names stay within 15 chars). */
export const MIN_POOL_PREFIX_LENGTH = 12;
/** The smallest pool: 4 networks. */
export const MAX_POOL_PREFIX_LENGTH = 18;
/** The most networks a pool holds (the largest pool's, and the default pool's). */
export const MAX_NETWORKS = 2 ** (NETWORK_PREFIX_LENGTH - MIN_POOL_PREFIX_LENGTH);

const NETWORK_SIZE = 2 ** (32 - NETWORK_PREFIX_LENGTH);
const VIP_OFFSET = NETWORK_SIZE / 2;
const TAG_LENGTH = 6;

/** An IPv4 range: base address as a number, prefix length. */
export interface Ip4Range {
  readonly base: number;
  readonly prefixLength: number;
}

/** A validated pool: `cidr` is its canonical text, `networkCount` how many /20s it holds. */
export interface AddressPool extends Ip4Range {
  readonly cidr: string;
  readonly networkCount: number;
}

/** A pool that cannot be used, with the reason (for `--address-pool`). */
export class AddressPoolError extends Error {
  override readonly name = 'AddressPoolError';
}

/** Ranges a pool must stay out of: they are not routed like ordinary unicast addresses. */
const RESERVED: readonly { readonly range: Ip4Range; readonly what: string }[] = [
  { range: { base: 0, prefixLength: 8 }, what: '0.0.0.0/8 (this network)' },
  { range: { base: ip4ToNumber('127.0.0.0'), prefixLength: 8 }, what: '127.0.0.0/8 (loopback)' },
  { range: { base: ip4ToNumber('169.254.0.0'), prefixLength: 16 }, what: '169.254.0.0/16 (link-local)' },
  { range: { base: ip4ToNumber('224.0.0.0'), prefixLength: 4 }, what: '224.0.0.0/4 (multicast)' },
  { range: { base: ip4ToNumber('240.0.0.0'), prefixLength: 4 }, what: '240.0.0.0/4 (reserved)' },
];

export function parseAddressPool(text: string): AddressPool {
  const range = parseIp4Range(text.trim());
  if (!range) throw new AddressPoolError(`not an IPv4 CIDR range (such as ${DEFAULT_ADDRESS_POOL}): ${text}`);
  const { base, prefixLength } = range;
  if (prefixLength < MIN_POOL_PREFIX_LENGTH || prefixLength > MAX_POOL_PREFIX_LENGTH) {
    throw new AddressPoolError(
      `${text}: the prefix must be /${MIN_POOL_PREFIX_LENGTH} to /${MAX_POOL_PREFIX_LENGTH} ` +
        `(each network takes a /${NETWORK_PREFIX_LENGTH}: /${MIN_POOL_PREFIX_LENGTH} holds 256 networks, ` +
        `/${MAX_POOL_PREFIX_LENGTH} holds 4)`,
    );
  }
  const aligned = base - (base % 2 ** (32 - prefixLength));
  if (aligned !== base) {
    throw new AddressPoolError(
      `${text} has host bits set; did you mean ${numberToIp4(aligned)}/${prefixLength}?`,
    );
  }
  const reserved = RESERVED.find((r) => rangesOverlap(r.range, range));
  if (reserved) throw new AddressPoolError(`${text} overlaps ${reserved.what}`);
  return {
    base,
    prefixLength,
    cidr: `${numberToIp4(base)}/${prefixLength}`,
    networkCount: 2 ** (NETWORK_PREFIX_LENGTH - prefixLength),
  };
}

export const DEFAULT_POOL: AddressPool = parseAddressPool(DEFAULT_ADDRESS_POOL);

/** What names and addresses one cluster's networks: its id (in every name) and its pool. */
export interface ClusterAddressing {
  readonly clusterId: string;
  readonly pool: AddressPool;
}

export interface NetworkAddressing {
  readonly subnet: string;
  readonly ipRange: string;
  readonly gateway: string;
}

export function networkAddressing(pool: AddressPool, index: number): NetworkAddressing {
  const base = networkBase(pool, index);
  return {
    subnet: `${numberToIp4(base)}/${NETWORK_PREFIX_LENGTH}`,
    ipRange: `${numberToIp4(base)}/${NETWORK_PREFIX_LENGTH + 1}`,
    gateway: numberToIp4(base + 1),
  };
}

export function serviceVip(pool: AddressPool, networkIndex: number, serviceIndex: number): string {
  if (!Number.isInteger(serviceIndex) || serviceIndex < 1 || serviceIndex > MAX_SERVICES) {
    throw new RangeError(`service index out of range: ${serviceIndex}`);
  }
  return numberToIp4(networkBase(pool, networkIndex) + VIP_OFFSET + serviceIndex);
}

/** Whether an address is in network n's /20 (a client of that network, for isolation). */
export function inNetwork(pool: AddressPool, address: string, networkIndex: number): boolean {
  const value = ip4ToNumber(address.replace(/^::ffff:/, ''));
  if (Number.isNaN(value)) return false;
  const base = networkBase(pool, networkIndex);
  return value >= base && value < base + NETWORK_SIZE;
}

/** The cluster's short tag in names: the first 6 letters or digits of its id, lowercased. */
export function clusterTag(clusterId: string): string {
  const tag = clusterId
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')
    .slice(0, TAG_LENGTH);
  if (tag === '') throw new RangeError(`a cluster id needs letters or digits: ${JSON.stringify(clusterId)}`);
  return tag;
}

/** Network n's Linux bridge: `skiff<tag>-<n>`, at most 15 characters (the kernel's limit). */
export function bridgeName(clusterId: string, index: number): string {
  return `skiff${clusterTag(clusterId)}-${index}`;
}

/** Every bridge of the cluster, as an iptables interface pattern (`skiff1a2b3c-+`). */
export function bridgePattern(clusterId: string): string {
  return `skiff${clusterTag(clusterId)}-+`;
}

/** The Docker network of a Skiff network: `skiff-<tag>-<name>`. */
export function dockerNetworkName(clusterId: string, network: string): string {
  return `skiff-${clusterTag(clusterId)}-${network}`;
}

/** Whether an interface is one of this cluster's bridges (by name, whatever its addresses). */
export function isOwnBridge(clusterId: string, interfaceName: string): boolean {
  const prefix = `skiff${clusterTag(clusterId)}-`;
  return interfaceName.startsWith(prefix) && /^\d+$/.test(interfaceName.slice(prefix.length));
}

/** Whether an interface looks like any Skiff cluster's bridge (or an older Skiff's `skiff<n>`). */
export function isSkiffBridge(interfaceName: string): boolean {
  return /^skiff(?:[a-z0-9]{1,6}-)?\d+$/.test(interfaceName);
}

/** `a.b.c.d/n` (or a bare address, a /32); undefined when it is not one. */
export function parseIp4Range(text: string): Ip4Range | undefined {
  const [address, prefix, ...rest] = text.split('/');
  if (address === undefined || rest.length > 0) return undefined;
  const base = ip4ToNumber(address);
  const prefixLength = prefix === undefined ? 32 : Number(prefix);
  if (Number.isNaN(base) || !/^\d{1,2}$/.test(prefix ?? '32') || prefixLength > 32) return undefined;
  return { base, prefixLength };
}

/** Whether two ranges share any address (one contains the other, as CIDR ranges nest). */
export function rangesOverlap(a: Ip4Range, b: Ip4Range): boolean {
  const shorter = Math.min(a.prefixLength, b.prefixLength);
  const size = 2 ** (32 - shorter);
  return Math.floor(a.base / size) === Math.floor(b.base / size);
}

export function formatIp4Range(range: Ip4Range): string {
  return `${numberToIp4(range.base)}/${range.prefixLength}`;
}

function networkBase(pool: AddressPool, index: number): number {
  if (!Number.isInteger(index) || index < 0 || index >= pool.networkCount) {
    throw new RangeError(`network index out of range for ${pool.cidr}: ${index}`);
  }
  return pool.base + index * NETWORK_SIZE;
}

function ip4ToNumber(address: string): number {
  const parts = address.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return Number.NaN;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

function numberToIp4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}
