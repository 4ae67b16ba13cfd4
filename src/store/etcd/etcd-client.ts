/**
 * The etcd connection: the `etcd3` client made for a store (TLS from files, a host that refuses
 * skipped for a second instead of retried into, no hidden retries of writes: the store retries
 * them itself, with a deadline), and what an error from it means for a write.
 */
import { readFileSync } from 'node:fs';
import { ConsecutiveBreaker, circuitBreaker, ExponentialBackoff, handleWhen, noop, retry } from 'cockatiel';
import { Etcd3, isRecoverableError } from 'etcd3';

export interface EtcdTlsFiles {
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
}

export function createEtcdClient(endpoints: readonly string[], tls: EtcdTlsFiles = {}): Etcd3 {
  const secure = tls.caFile !== undefined || tls.certFile !== undefined;
  const hosts = endpoints.map((e) => (e.includes('://') ? e : `${secure ? 'https' : 'http'}://${e}`));
  return new Etcd3({
    hosts,
    dialTimeout: 2000,
    ...(secure
      ? {
          credentials: {
            rootCertificate: tls.caFile ? readFileSync(tls.caFile) : Buffer.alloc(0),
            ...(tls.keyFile ? { privateKey: readFileSync(tls.keyFile) } : {}),
            ...(tls.certFile ? { certChain: readFileSync(tls.certFile) } : {}),
          },
        }
      : {}),
    grpcOptions: {
      // A whole mirror's page, or a big pass's answer, is more than gRPC's 4 MB default.
      'grpc.max_receive_message_length': 256 * 1024 * 1024,
      'grpc.max_send_message_length': 64 * 1024 * 1024,
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 3_000,
      // A member that comes back is used again within a second (gRPC's default backoff grows to 2 min).
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1000,
    },
    faultHandling: {
      // A member that refuses or drops is skipped for a second, so calls go to the others at
      // once; one call tries each member at most once. Writes are retried by the store.
      host: () =>
        circuitBreaker(handleWhen(isRecoverableError), {
          halfOpenAfter: 1000,
          breaker: new ConsecutiveBreaker(1),
        }),
      global:
        endpoints.length > 1
          ? retry(handleWhen(isRecoverableError), { maxAttempts: endpoints.length - 1 })
          : noop,
      watchBackoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 1000 }).next(),
    },
  });
}

export type WriteFailure = 'retry' | 'too-large' | 'no-space' | 'fatal';

/** What a failed etcd call means for a write: worth retrying (an election, a member down), etc. */
export function classifyEtcdError(error: unknown): WriteFailure {
  const message = error instanceof Error ? error.message : String(error);
  if (/database space exceeded|NOSPACE/i.test(message)) return 'no-space';
  if (/too many operations in txn request|request is too large|message larger than max/i.test(message))
    return 'too-large';
  if (
    /leader changed|no leader|timed out|timeout|deadline|unavailable|ECONNREFUSED|ECONNRESET|EHOSTUNREACH|connect|not capable|broken|circuit|stopped|too many requests/i.test(
      message,
    ) ||
    (error instanceof Error && isRecoverableError(error))
  )
    return 'retry';
  return 'fatal';
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
