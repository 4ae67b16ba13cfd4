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

export class SharedEndpoints {
  #lastBytes: Buffer | undefined;
  #lastMessage: EndpointsMessage | undefined;
  #lastWhole: EndpointSet | undefined;
  #lastMerge: { held: EndpointSet; delta: EndpointsMessage; outcome: DeltaOutcome } | undefined;
  /** Distinct messages parsed: what one agent alone would parse is every message it receives. */
  parsed = 0;

  /** The message in `data` (an `endpoints` or `endpoints.delta`), parsed once for all agents. */
  read(data: Buffer): EndpointsMessage | undefined {
    if (this.#lastBytes?.equals(data) && this.#lastMessage) return this.#lastMessage;
    const message = serverMessageSchema.parse(JSON.parse(data.toString('utf8')));
    if (message.type !== 'endpoints' && message.type !== 'endpoints.delta') return undefined;
    this.parsed++;
    this.#lastBytes = Buffer.from(data);
    this.#lastMessage = message;
    this.#lastWhole = undefined;
    return message;
  }

  /** What an agent holding `held` holds after `message`. */
  apply(held: EndpointSet, message: EndpointsMessage): DeltaOutcome {
    if (message.type === 'endpoints') {
      if (this.#lastMessage !== message || this.#lastWhole === undefined)
        this.#lastWhole = fullSet(message.generation, message.services, message.node_addresses);
      return { kind: 'applied', set: this.#lastWhole };
    }
    const cached = this.#lastMerge;
    if (cached && cached.held === held && cached.delta === message) return cached.outcome;
    const outcome = mergeEndpoints(held, {
      generation: message.generation,
      baseGeneration: message.base_generation,
      services: message.services,
      removed: message.removed,
      peers: message.node_addresses,
      patched: message.patched,
    });
    this.#lastMerge = { held, delta: message, outcome };
    return outcome;
  }
}
