/**
 * What the DNS tests share: a registry of services over two networks, a loopback client that asks
 * one question and waits (bounded) for one reply, and a fake upstream resolver on 127.0.0.1 that
 * answers — or stays silent — as each test says. Only loopback traffic; every wait has a deadline.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { DecodedPacket, Packet, RecordType } from 'dns-packet';
import { decode, encode, RECURSION_DESIRED } from 'dns-packet';
import type { ServiceRegistry } from './dns-answer.ts';
import type { Endpoint } from './endpoint.ts';

const REPLY_DEADLINE_MS = 3000;

/**
 * Two networks: `front` (clients 10.1.0.x, and loopback for the socket tests) and `back`
 * (10.2.0.x). `api-server` is on both, with a VIP per network; `db` only on `back`.
 */
export function twoNetworkRegistry(): ServiceRegistry {
  const networkOf = (client: string): string | undefined => {
    if (client.startsWith('10.2.')) return 'back';
    if (client.startsWith('10.1.') || client === '127.0.0.1' || client === '::1') return 'front';
    return undefined;
  };
  const vips: Record<string, Record<string, string>> = {
    'api-server': { front: '10.1.255.1', back: '10.2.255.1' },
    db: { back: '10.2.255.2' },
  };
  const endpoints: Record<string, Record<number, { target: string; port: number }[]>> = {
    'api-server': {
      8080: [
        { target: 'api-server-0.skiff', port: 31_000 },
        { target: '10.1.0.7', port: 8080 },
      ],
      9090: [],
    },
    db: { 5432: [{ target: '10.2.0.9', port: 5432 }] },
  };
  return {
    vipFor(service, client) {
      const network = networkOf(client);
      return network === undefined ? undefined : vips[service]?.[network];
    },
    endpointsFor(service, port, client) {
      if (this.vipFor(service, client) === undefined) return undefined;
      return endpoints[service]?.[port];
    },
  };
}

export function queryBytes(
  name: string,
  type: RecordType,
  options: { id?: number; ednsPayloadBytes?: number } = {},
): Buffer {
  const packet: Packet = {
    type: 'query',
    id: options.id ?? 4321,
    flags: RECURSION_DESIRED,
    questions: [{ name, type, class: 'IN' }],
  };
  if (options.ednsPayloadBytes !== undefined) {
    packet.additionals = [
      {
        type: 'OPT',
        name: '.',
        udpPayloadSize: options.ednsPayloadBytes,
        extendedRcode: 0,
        ednsVersion: 0,
        flags: 0,
        flag_do: false,
        options: [],
      },
    ];
  }
  return encode(packet);
}

/** A client socket on 127.0.0.1 that sends datagrams and takes replies one at a time. */
export class TestClient {
  readonly #socket: Socket;
  readonly #inbox: Buffer[] = [];
  #waiter: ((reply: Buffer) => void) | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('message', (reply) => {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      if (waiter) waiter(reply);
      else this.#inbox.push(reply);
    });
  }

  static async open(family: 'udp4' | 'udp6' = 'udp4'): Promise<TestClient> {
    const socket = createSocket(family);
    await new Promise<void>((resolve) => socket.bind(0, family === 'udp4' ? '127.0.0.1' : '::1', resolve));
    return new TestClient(socket);
  }

  send(to: Endpoint, bytes: Buffer): void {
    this.#socket.send(bytes, to.port, to.address);
  }

  /** The next datagram this client receives, decoded; rejects after `deadlineMs`. */
  async nextReply(deadlineMs = REPLY_DEADLINE_MS): Promise<DecodedPacket & { bytes: number }> {
    const queued = this.#inbox.shift();
    const raw =
      queued ??
      (await new Promise<Buffer>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.#waiter = undefined;
          reject(new Error(`no DNS reply within ${deadlineMs} ms`));
        }, deadlineMs);
        this.#waiter = (reply) => {
          clearTimeout(timer);
          resolve(reply);
        };
      }));
    return Object.assign(decode(raw), { bytes: raw.length });
  }

  async ask(to: Endpoint, bytes: Buffer, deadlineMs?: number): Promise<DecodedPacket & { bytes: number }> {
    this.send(to, bytes);
    return this.nextReply(deadlineMs);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }
}

/**
 * A resolver on 127.0.0.1 standing in for the host's upstream. `answer` builds its reply to each
 * query (undefined: stay silent, as an unreachable or overloaded resolver would).
 */
export class FakeUpstream {
  readonly received: DecodedPacket[] = [];
  /** Where each query came from: the forwarder's own socket. */
  readonly senders: Endpoint[] = [];
  readonly #socket: Socket;
  readonly #arrivals: ((query: DecodedPacket) => void)[] = [];

  private constructor(socket: Socket, answer: (query: DecodedPacket) => Packet | undefined) {
    this.#socket = socket;
    socket.on('message', (bytes, from) => {
      const query = decode(bytes);
      this.received.push(query);
      this.senders.push({ address: from.address, port: from.port });
      for (const arrival of this.#arrivals.splice(0)) arrival(query);
      const reply = answer(query);
      if (reply) socket.send(encode(reply), from.port, from.address);
    });
  }

  static async start(answer: (query: DecodedPacket) => Packet | undefined): Promise<FakeUpstream> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return new FakeUpstream(socket, answer);
  }

  /** As DnsServer's `upstreams` option takes it. */
  get address(): string {
    return `127.0.0.1:${this.#socket.address().port}`;
  }

  /** Resolves when the next query arrives; rejects after `deadlineMs`. */
  nextQuery(deadlineMs = REPLY_DEADLINE_MS): Promise<DecodedPacket> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no query upstream within ${deadlineMs} ms`)),
        deadlineMs,
      );
      this.#arrivals.push((query) => {
        clearTimeout(timer);
        resolve(query);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }
}

/** An upstream that answers every question with an A record (`address`, or one per name), echoing the id. */
export function answeringWith(
  address: string | ((name: string) => string),
): (query: DecodedPacket) => Packet {
  const addressFor = typeof address === 'string' ? () => address : address;
  return (query) => ({
    type: 'response',
    id: query.id,
    flags: RECURSION_DESIRED | (1 << 7),
    questions: query.questions,
    answers: (query.questions ?? []).map((question) => ({
      type: 'A' as const,
      name: question.name,
      ttl: 300,
      data: addressFor(question.name),
    })),
  });
}
