/**
 * Endpoints messages as a fleet of simulated agents in one process reads them: the server sends
 * the same text to every node, so each distinct message is parsed once (the last one is kept and
 * compared byte for byte), and each (held set, delta) pair is merged once. The agents then hold
 * the same values, where 1,000 hosts would each hold a copy, and the fleet does not spend the
 * cores the measured server needs parsing 1,000 copies of one message. The merge itself is the
 * real agent's (net/data-plane/endpoints-delta.ts).
 */
import type { DeltaOutcome, EndpointSet } from '../net/data-plane/endpoints-delta.ts';
import { fullSet, mergeEndpoints } from '../net/data-plane/endpoints-delta.ts';
import type { ServerMessage } from '../protocol/messages.ts';
import { serverMessageSchema } from '../protocol/messages.ts';

type EndpointsMessage = Extract<ServerMessage, { type: 'endpoints' | 'endpoints.delta' }>;

/**
 * How many distinct messages (and merges) are remembered: nodes the server holds back while
 * their sockets drain are sent deltas from older generations, so several messages interleave.
 */
const REMEMBERED = 32;

interface Known {
  readonly bytes: Buffer;
  readonly message: EndpointsMessage;
  whole?: EndpointSet;
}

export class SharedEndpoints {
  /** The last REMEMBERED distinct messages, oldest first. */
  #known: Known[] = [];
  /** Merges by delta, each by the set it was merged into (sets are shared values too). */
  #merges = new Map<EndpointsMessage, Map<EndpointSet, DeltaOutcome>>();
  /** Distinct messages parsed: what one agent alone would parse is every message it receives. */
  parsed = 0;

  /** The message in `data` (an `endpoints` or `endpoints.delta`), parsed once for all agents. */
  read(data: Buffer): EndpointsMessage | undefined {
    for (let i = this.#known.length - 1; i >= 0; i--) {
      const known = this.#known[i];
      if (known && known.bytes.length === data.length && known.bytes.equals(data)) return known.message;
    }
    const message = serverMessageSchema.parse(JSON.parse(data.toString('utf8')));
    if (message.type !== 'endpoints' && message.type !== 'endpoints.delta') return undefined;
    this.parsed++;
    this.#known.push({ bytes: Buffer.from(data), message });
    if (this.#known.length > REMEMBERED) {
      const [gone] = this.#known.splice(0, 1);
      if (gone) this.#merges.delete(gone.message);
    }
    return message;
  }

  /** What an agent holding `held` holds after `message`. */
  apply(held: EndpointSet, message: EndpointsMessage): DeltaOutcome {
    if (message.type === 'endpoints') {
      const known = this.#known.find((k) => k.message === message);
      const whole = known?.whole ?? fullSet(message.generation, message.services, message.node_addresses);
      if (known) known.whole = whole;
      return { kind: 'applied', set: whole };
    }
    const merges = this.#merges.get(message) ?? new Map<EndpointSet, DeltaOutcome>();
    const cached = merges.get(held);
    if (cached) return cached;
    const outcome = mergeEndpoints(held, {
      generation: message.generation,
      baseGeneration: message.base_generation,
      services: message.services,
      removed: message.removed,
      peers: message.node_addresses,
      patched: message.patched,
    });
    // Only merges of a remembered message are kept (and only a few sets per message).
    if (this.#known.some((k) => k.message === message) && merges.size < REMEMBERED) {
      merges.set(held, outcome);
      this.#merges.set(message, merges);
    }
    return outcome;
  }
}
