/**
 * DNS over TCP frames each message with a two-byte length (RFC 1035 §4.2.2, RFC 7766). A stream
 * arrives in arbitrary chunks, so `TcpFrameReader` collects bytes and hands out whole messages.
 * Pure: no sockets, so the odd splits a real stream makes can be tested one by one.
 */

const LENGTH_BYTES = 2;
/** The largest message the length prefix can announce. */
export const MAX_TCP_MESSAGE_BYTES = 0xffff;

export type FrameRead =
  | { kind: 'messages'; messages: Buffer[] }
  /** The client announced a zero-length message: nothing a resolver sends, so the connection ends. */
  | { kind: 'invalid'; reason: string };

export class TcpFrameReader {
  #pending: Buffer = Buffer.alloc(0);

  /** Bytes of an incomplete message still held (bounded by one message and its prefix). */
  get pendingBytes(): number {
    return this.#pending.length;
  }

  push(chunk: Buffer): FrameRead {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const messages: Buffer[] = [];
    while (this.#pending.length >= LENGTH_BYTES) {
      const length = this.#pending.readUInt16BE(0);
      if (length === 0) return { kind: 'invalid', reason: 'a zero-length message' };
      if (this.#pending.length < LENGTH_BYTES + length) break;
      messages.push(this.#pending.subarray(LENGTH_BYTES, LENGTH_BYTES + length));
      this.#pending = this.#pending.subarray(LENGTH_BYTES + length);
    }
    return { kind: 'messages', messages };
  }
}

/** `message` with its length prefix, ready to write to the stream. */
export function tcpFrame(message: Buffer): Buffer {
  if (message.length > MAX_TCP_MESSAGE_BYTES)
    throw new RangeError(`a DNS message of ${message.length} bytes cannot be framed for TCP`);
  const prefix = Buffer.alloc(LENGTH_BYTES);
  prefix.writeUInt16BE(message.length, 0);
  return Buffer.concat([prefix, message]);
}
