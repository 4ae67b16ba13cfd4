/**
 * Asks the server the leader key names whether it still leads, when an agent says it could not
 * reach it: a leader whose process died (the agent's connection was reset) or that stepped down
 * (cut off from etcd) still holds the key until etcd expires its lease, up to 2.5 s later, and
 * until then no other server can lead. The probe tells those cases apart from a leader that is
 * merely out of the agent's reach, so a follower can end a dead leader's lease at once
 * (etcd-leadership.ts) and send agents back to a live one.
 *
 * Only two answers end a lease: the port refusing connections (the process is gone; the host is
 * up, or it could not say so) and the server itself saying it does not lead. Silence (a host
 * that is down, a partition, a paused process) says nothing: the lease runs out as before.
 */
import { request as httpsRequest } from 'node:https';
import { z } from 'zod';

/** Where a server says whether it leads (no token: it tells only that, and the lease it leads under). */
export const LEADING_PATH = '/ha/v1/leading';

export const leadingAnswerSchema = z.object({
  leading: z.boolean(),
  /** The lease this server leads under (decimal), null while it does not lead. */
  lease: z.string().max(40).nullable(),
});
export type LeadingAnswer = z.infer<typeof leadingAnswerSchema>;

export type ProbeVerdict =
  /** Nothing listens at its address: the process is gone. */
  | { readonly kind: 'gone'; readonly detail: string }
  /** It answered that it does not lead. */
  | { readonly kind: 'not-leading' }
  | { readonly kind: 'leading'; readonly lease: string }
  /** No answer that proves anything (a timeout, an unreachable network, a bad answer). */
  | { readonly kind: 'unknown'; readonly detail: string };

/** How long a probe waits: a server that is alive on a LAN answers in milliseconds. */
export const PROBE_TIMEOUT_MS = 700;

/** What a probe's outcome proves, pure. */
export function probeVerdict(
  outcome:
    | { readonly kind: 'error'; readonly code: string | undefined; readonly message: string }
    | { readonly kind: 'answer'; readonly status: number; readonly body: unknown },
): ProbeVerdict {
  if (outcome.kind === 'error')
    return outcome.code === 'ECONNREFUSED'
      ? { kind: 'gone', detail: 'connection refused' }
      : { kind: 'unknown', detail: outcome.message };
  if (outcome.status !== 200) return { kind: 'unknown', detail: `HTTP ${outcome.status}` };
  const answer = leadingAnswerSchema.safeParse(outcome.body);
  if (!answer.success) return { kind: 'unknown', detail: 'an answer that is not a leadership status' };
  return answer.data.leading && answer.data.lease !== null
    ? { kind: 'leading', lease: answer.data.lease }
    : { kind: 'not-leading' };
}

/** GET `url`/ha/v1/leading over TLS verified by the cluster CA, bounded by PROBE_TIMEOUT_MS. */
export function probeLeader(url: string, caPem: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<ProbeVerdict> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (verdict: ProbeVerdict) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(verdict);
    };
    const target = new URL(LEADING_PATH, url.replace(/^http:/, 'https:'));
    const outgoing = httpsRequest(target, { method: 'GET', ca: caPem, agent: false }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('end', () => {
        let body: unknown;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          body = undefined;
        }
        settle(probeVerdict({ kind: 'answer', status: answer.statusCode ?? 0, body }));
      });
      answer.on('error', (error) =>
        settle(probeVerdict({ kind: 'error', code: undefined, message: error.message })),
      );
    });
    const timer = setTimeout(() => {
      settle({ kind: 'unknown', detail: `no answer within ${timeoutMs} ms` });
      outgoing.destroy();
    }, timeoutMs);
    outgoing.on('error', (error: NodeJS.ErrnoException) =>
      settle(probeVerdict({ kind: 'error', code: error.code, message: error.message })),
    );
    outgoing.end();
  });
}
