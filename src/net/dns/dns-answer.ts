/**
 * Decides what the host's DNS server says to one question from one container, without touching a
 * socket: an A record for a service's virtual IP, SRV records for its replicas, NXDOMAIN for a
 * name in our zone that does not exist (or that this client may not see), an empty NOERROR for a
 * name that exists without records of the asked type, or "forward" for everything that is not
 * ours. Our zone is `skiff.` plus bare single-label service names (and their `_<port>._tcp.` SRV
 * names) that the registry knows for this client.
 */

/** What the agent knows about services, always seen from the asking container's network. */
export interface ServiceRegistry {
  /** The VIP of `service` as seen from the client's address (its network), or undefined if the service is unknown or not reachable from that client's network. */
  vipFor(service: string, clientAddress: string): string | undefined;
  /** The replica endpoints for SRV, or undefined if unknown/unreachable from this client. */
  endpointsFor(
    service: string,
    port: number,
    clientAddress: string,
  ): readonly { target: string; port: number }[] | undefined;
}

export interface ARecord {
  type: 'A';
  name: string;
  address: string;
  ttl: number;
}

export interface SrvRecord {
  type: 'SRV';
  name: string;
  target: string;
  port: number;
  priority: number;
  weight: number;
  ttl: number;
}

export type DnsDecision =
  | { kind: 'answer'; records: (ARecord | SrvRecord)[] }
  /** A name in our zone that does not exist (or is isolated from this client). */
  | { kind: 'nxdomain' }
  /** The name exists but has no records of the asked type (AAAA for a service): NOERROR, no answers. */
  | { kind: 'empty' }
  /** Not ours: relay to the host's upstream resolvers. */
  | { kind: 'forward' };

export const ZONE = 'skiff';
export const DEFAULT_TTL_SECONDS = 5;

// Every replica is equally preferred: the registry gives no ranking, and clients that honour SRV
// weights then spread load evenly. A non-zero weight keeps RFC 2782's weighted pick meaningful.
const SRV_PRIORITY = 0;
const SRV_WEIGHT = 10;

const PORT_LABEL = /^_([0-9]{1,5})$/;

/** A name in our zone, parsed: the service itself, its SRV name, or the `_tcp` level between them. */
type ZoneName =
  | { form: 'service'; service: string }
  | { form: 'srv'; service: string; port: number }
  | { form: 'protocol'; service: string };

const NXDOMAIN: DnsDecision = { kind: 'nxdomain' };
const EMPTY: DnsDecision = { kind: 'empty' };
const FORWARD: DnsDecision = { kind: 'forward' };

export function answerQuestion(
  question: { name: string; type: string },
  client: string,
  registry: ServiceRegistry,
  options: { ttlSeconds?: number } = {},
): DnsDecision {
  const ttl = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
  const labels = normalise(question.name);
  const type = question.type.toUpperCase();
  if (labels.length === 0) return FORWARD;

  if (labels.at(-1) === ZONE) {
    // The apex exists (it holds every service), so asking for it is never NXDOMAIN.
    if (labels.length === 1) return EMPTY;
    const name = parseZoneName(labels.slice(0, -1));
    if (name === undefined) return NXDOMAIN;
    return resolve(name, { question, type, client, registry, ttl });
  }

  // Outside `.skiff`, only names that are certainly a service we know are ours. A container whose
  // resolver has search domains also asks `api-server.<search domain>`: that has several labels and
  // is forwarded, and so is a single label we do not know — it may be a host on the search domain.
  // The registry cannot tell "unknown" from "isolated" (by design, so that a client learns nothing
  // about other networks), so an isolated bare name is forwarded and upstream answers NXDOMAIN.
  const name = parseZoneName(labels);
  if (name === undefined || name.form === 'protocol') return FORWARD;
  if (registry.vipFor(name.service, client) === undefined) return FORWARD;
  return resolve(name, { question, type, client, registry, ttl });
}

/** Lower-cased labels without the root: names compare case-insensitively and may end in a dot. */
function normalise(name: string): string[] {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  if (trimmed === '') return [];
  return trimmed.toLowerCase().split('.');
}

function parseZoneName(labels: readonly string[]): ZoneName | undefined {
  const [first, second, third] = labels;
  if (labels.length === 1 && first !== undefined && !first.startsWith('_')) {
    return { form: 'service', service: first };
  }
  if (labels.length === 2 && first === '_tcp' && second !== undefined) {
    return { form: 'protocol', service: second };
  }
  if (labels.length === 3 && second === '_tcp' && first !== undefined && third !== undefined) {
    const port = Number(PORT_LABEL.exec(first)?.[1]);
    if (Number.isInteger(port) && port >= 1 && port <= 65_535) return { form: 'srv', service: third, port };
  }
  return undefined;
}

interface Asked {
  question: { name: string };
  type: string;
  client: string;
  registry: ServiceRegistry;
  ttl: number;
}

function resolve(name: ZoneName, asked: Asked): DnsDecision {
  const { question, type, client, registry, ttl } = asked;
  // Records carry the name as asked, so a resolver that randomises letter case (0x20) sees its own.
  const owner = question.name.endsWith('.') ? question.name.slice(0, -1) : question.name;
  switch (name.form) {
    case 'service': {
      const vip = registry.vipFor(name.service, client);
      if (vip === undefined) return NXDOMAIN;
      if (type !== 'A' && type !== 'ANY') return EMPTY;
      return { kind: 'answer', records: [{ type: 'A', name: owner, address: vip, ttl }] };
    }
    case 'protocol':
      // `_tcp.<service>` is an empty non-terminal: it exists exactly when the service does.
      return registry.vipFor(name.service, client) === undefined ? NXDOMAIN : EMPTY;
    case 'srv': {
      const endpoints = registry.endpointsFor(name.service, name.port, client);
      if (endpoints === undefined) return NXDOMAIN;
      if ((type !== 'SRV' && type !== 'ANY') || endpoints.length === 0) return EMPTY;
      return {
        kind: 'answer',
        records: endpoints.map((endpoint) => ({
          type: 'SRV',
          name: owner,
          target: endpoint.target,
          port: endpoint.port,
          priority: SRV_PRIORITY,
          weight: SRV_WEIGHT,
          ttl,
        })),
      };
    }
  }
}
