/**
 * Whether an agent's message is the very text it sent last of that type: an agent's counters
 * (`agent.metrics`, every 5 s from every agent) do not move while its node is idle, and reading
 * one again (JSON, a schema per entry, the /metrics text rebuilt) would give what the server
 * already holds. Only a digest of the last text is kept (20 bytes a connection, not the text):
 * a text that was read and handled once is handled the same way again, so skipping it is safe.
 */
import { createHash } from 'node:crypto';

export class RepeatedMessage {
  readonly #prefix: string;
  #lastDigest: string | undefined;

  /** `type`: the message type whose repeats are skipped (its text starts with it, as JSON.stringify writes it). */
  constructor(type: string) {
    this.#prefix = `{"type":${JSON.stringify(type)}`;
  }

  /** The digest to remember once `text` was handled, or undefined when it is not of this type. */
  digestOf(text: string): string | undefined {
    return text.startsWith(this.#prefix) ? createHash('sha1').update(text).digest('base64') : undefined;
  }

  isRepeat(digest: string | undefined): boolean {
    return digest !== undefined && digest === this.#lastDigest;
  }

  /** `digest` was read and handled (a bad or failing message is not remembered). */
  handled(digest: string | undefined): void {
    if (digest !== undefined) this.#lastDigest = digest;
  }
}
