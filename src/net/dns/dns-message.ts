/**
 * DNS wire messages, without sockets: reading a query off the wire (dropping what is not one),
 * building our replies from a `DnsDecision` (flags, rcode, EDNS, and truncation to what the client
 * can take over UDP), and the id rewriting a relayed upstream answer needs.
 */
import type { Answer, DecodedPacket, Packet, Question } from 'dns-packet';
import { decode, encode, encodingLength, RECURSION_AVAILABLE, RECURSION_DESIRED } from 'dns-packet';
import type { ARecord, DnsDecision, SrvRecord } from './dns-answer.ts';

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4 } as const;
export type Rcode = (typeof RCODE)[keyof typeof RCODE];

const HEADER_BYTES = 12;
const QR_BIT = 0x80; // in the third header byte
const OPCODE_QUERY = 0;
const AUTHORITATIVE_ANSWER = 1 << 10;
const TRUNCATED_RESPONSE = 1 << 9;

/** A UDP reply to a client without EDNS may not exceed this (RFC 1035 §4.2.1). */
export const CLASSIC_UDP_BYTES = 512;
/**
 * What we offer EDNS clients: the size the 2020 DNS flag day settled on, which avoids IP
 * fragmentation on any common path — and lets a service with a few dozen replicas fit its SRV set.
 */
export const EDNS_UDP_BYTES = 1232;

/** One question from a client, with what a reply to it must echo or respect. */
export interface DnsQuery {
  readonly id: number;
  readonly recursionDesired: boolean;
  readonly question: Question;
  /** The client's advertised EDNS UDP payload size, or undefined if it sent no OPT record. */
  readonly ednsPayloadBytes: number | undefined;
}

export type ReadQuery =
  /** Not a DNS query we can answer at all (garbage, too short, a response): say nothing. */
  | { kind: 'drop' }
  /** A well-formed header asking for something we do not do: reply with `rcode`, no questions. */
  | { kind: 'reject'; id: number; recursionDesired: boolean; rcode: Rcode }
  | { kind: 'query'; query: DnsQuery };

export function readQuery(bytes: Buffer): ReadQuery {
  if (bytes.length < HEADER_BYTES) return { kind: 'drop' };
  // Replies must never be answered: two servers pointed at each other would loop forever.
  const flagsHigh = bytes.readUInt8(2);
  if ((flagsHigh & QR_BIT) !== 0) return { kind: 'drop' };
  let packet: DecodedPacket;
  try {
    packet = decode(bytes);
  } catch {
    return { kind: 'drop' };
  }
  const id = bytes.readUInt16BE(0);
  const recursionDesired = packet.flag_rd;
  if (((flagsHigh >> 3) & 0xf) !== OPCODE_QUERY)
    return { kind: 'reject', id, recursionDesired, rcode: RCODE.NOTIMP };
  const [question, ...more] = packet.questions ?? [];
  // No resolver sends more than one question; RFC 9619 makes QDCOUNT > 1 a format error.
  if (question === undefined || more.length > 0) {
    return { kind: 'reject', id, recursionDesired, rcode: RCODE.FORMERR };
  }
  const opt = (packet.additionals ?? []).find((record) => record.type === 'OPT');
  return {
    kind: 'query',
    query: {
      id,
      recursionDesired,
      question,
      ednsPayloadBytes: opt?.type === 'OPT' ? opt.udpPayloadSize : undefined,
    },
  };
}

/**
 * Our own answer to `query` (never for `forward`, which is relayed, not built), truncated to what
 * the client takes over UDP unless a larger limit is given (over TCP a message may take 64 KiB).
 */
export function decisionReply(
  query: DnsQuery,
  decision: Exclude<DnsDecision, { kind: 'forward' }>,
  limitBytes: number = replyLimitBytes(query),
): Buffer {
  const answers = decision.kind === 'answer' ? decision.records.map(toAnswer) : [];
  const rcode = decision.kind === 'nxdomain' ? RCODE.NXDOMAIN : RCODE.NOERROR;
  // No SOA goes in the authority section of a negative answer, so resolvers do not cache it
  // (RFC 2308 §5): a service deployed a moment later must resolve at once.
  return fitReply(replyPacket(query, { rcode, authoritative: true, answers }), limitBytes);
}

/** A reply carrying only a status: SERVFAIL when no upstream answered, NOTIMP, FORMERR. */
export function statusReply(
  query: {
    id: number;
    recursionDesired: boolean;
    question?: Question;
    ednsPayloadBytes?: number | undefined;
  },
  rcode: Rcode,
): Buffer {
  return encode({
    type: 'response',
    id: query.id,
    flags: headerFlags({ recursionDesired: query.recursionDesired, authoritative: false, rcode }),
    questions: query.question === undefined ? [] : [query.question],
    additionals: query.ednsPayloadBytes === undefined ? [] : [ednsRecord()],
  });
}

/** The id of a message, or undefined if it is too short to have one. */
export function messageId(bytes: Buffer): number | undefined {
  return bytes.length < HEADER_BYTES ? undefined : bytes.readUInt16BE(0);
}

export function isResponse(bytes: Buffer): boolean {
  return bytes.length >= HEADER_BYTES && (bytes.readUInt8(2) & QR_BIT) !== 0;
}

/** A copy of `bytes` with its id replaced; the rest (flags, sections) is relayed untouched. */
export function withMessageId(bytes: Buffer, id: number): Buffer {
  const copy = Buffer.from(bytes);
  copy.writeUInt16BE(id, 0);
  return copy;
}

/** How large a UDP reply this client accepts: 512 bytes, more only if it said so through EDNS. */
export function replyLimitBytes(query: DnsQuery): number {
  if (query.ednsPayloadBytes === undefined) return CLASSIC_UDP_BYTES;
  return Math.min(Math.max(query.ednsPayloadBytes, CLASSIC_UDP_BYTES), EDNS_UDP_BYTES);
}

function replyPacket(
  query: DnsQuery,
  reply: { rcode: Rcode; authoritative: boolean; answers: Answer[] },
): Packet & { answers: Answer[] } {
  return {
    type: 'response',
    id: query.id,
    flags: headerFlags({
      recursionDesired: query.recursionDesired,
      authoritative: reply.authoritative,
      rcode: reply.rcode,
    }),
    questions: [query.question],
    answers: reply.answers,
    additionals: query.ednsPayloadBytes === undefined ? [] : [ednsRecord()],
  };
}

/**
 * Encodes `packet`, keeping as many whole answers as fit in `limitBytes`; if any had to go, TC is
 * set so that the client knows the set is incomplete (and may retry over TCP or with EDNS).
 */
function fitReply(packet: Packet & { answers: Answer[] }, limitBytes: number): Buffer {
  if (encodingLength(packet) <= limitBytes) return encode(packet);
  const answers = [...packet.answers];
  const truncated = { ...packet, answers, flags: (packet.flags ?? 0) | TRUNCATED_RESPONSE };
  while (answers.length > 0 && encodingLength(truncated) > limitBytes) answers.pop();
  return encode(truncated);
}

function headerFlags(header: { recursionDesired: boolean; authoritative: boolean; rcode: Rcode }): number {
  // RA is set because we do offer recursion: whatever is not ours is resolved upstream for the client.
  let flags = RECURSION_AVAILABLE | header.rcode;
  if (header.recursionDesired) flags |= RECURSION_DESIRED;
  if (header.authoritative) flags |= AUTHORITATIVE_ANSWER;
  return flags;
}

function ednsRecord(): Answer {
  return {
    type: 'OPT',
    name: '.',
    udpPayloadSize: EDNS_UDP_BYTES,
    extendedRcode: 0,
    ednsVersion: 0,
    flags: 0,
    flag_do: false,
    options: [],
  };
}

function toAnswer(record: ARecord | SrvRecord): Answer {
  if (record.type === 'A') {
    return { type: 'A', name: record.name, ttl: record.ttl, class: 'IN', data: record.address };
  }
  return {
    type: 'SRV',
    name: record.name,
    ttl: record.ttl,
    class: 'IN',
    data: { target: record.target, port: record.port, priority: record.priority, weight: record.weight },
  };
}
