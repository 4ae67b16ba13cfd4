/**
 * The agent's side of an indirect probe (server/node-probes.ts): can this host open a TCP
 * connection to another node's published ports? Any one accepting is enough; each gets the
 * server's timeout. Refused and timed out both mean "its replicas do not answer here".
 */
import { connect } from 'node:net';

export interface ProbeAnswer {
  readonly reachable: boolean;
  /** Per port: `32768 ok`, `32769 refused`, `32770 timeout`, `32771 EHOSTUNREACH`. */
  readonly detail: string;
}

export async function probeNode(
  address: string,
  ports: readonly number[],
  timeoutMs: number,
): Promise<ProbeAnswer> {
  const results = await Promise.all(ports.map((port) => tryConnect(address, port, timeoutMs)));
  return {
    reachable: results.some((r) => r === 'ok'),
    detail: ports.map((port, i) => `${port} ${results[i]}`).join(', '),
  };
}

function tryConnect(host: string, port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let settled = false;
    const done = (outcome: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    // Decided after the event loop's poll phase: on a busy host the timer and a connect that made
    // it in time come due in the same turn, and the connect must win.
    const timer = setTimeout(() => setImmediate(() => done('timeout')), timeoutMs);
    socket.once('connect', () => done('ok'));
    socket.once('error', (error: NodeJS.ErrnoException) =>
      done(error.code === 'ECONNREFUSED' ? 'refused' : (error.code ?? 'error')),
    );
  });
}
