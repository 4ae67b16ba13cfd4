/**
 * The HAProxy configuration an agent runs, rendered from its HTTP routes. Pure. One frontend and
 * one backend per route: the frontend binds the port netfilter REDIRECTs the route's VIP and
 * published port to (and 127.0.0.1 on the published port, which a DNAT cannot serve), refuses
 * clients outside the route's network with a 403 like the built-in proxy, and sets
 * X-Forwarded-Proto and -Host when no earlier proxy did; `option forwardfor` adds the client to
 * X-Forwarded-For. The backend balances per request (roundrobin or leastconn) over its slots
 * (`haproxy-slots.ts`), retries a refused or failed connect on another replica (`retry-on
 * conn-failure`, `option redispatch`), and an empty answer (the keep-alive race: the replica
 * closed an idle connection as the request went out) only for methods a client may repeat. The
 * endpoints are the health check: HAProxy runs none of its own. With a request log, every answered
 * request is a line (`LOG_FORMAT`) in a ring of 2 MiB that HAProxy forwards to the agent's unix
 * socket (`haproxy-request-log.ts`): the agent's proxy metrics, exact per request.
 */
import type { Strategy } from '../proxy/balancer.ts';
import type { ListenAddress } from '../proxy/errors.ts';
import { LOG_FORMAT } from './haproxy-request-log.ts';
import { type SlotTable, slotName } from './haproxy-slots.ts';

export interface HaproxyRouteConfig {
  /** The route key it serves (`web@default:8080`), written as a comment. */
  readonly key: string;
  /** The frontend's and backend's name (`haproxyName`). */
  readonly name: string;
  readonly binds: readonly ListenAddress[];
  readonly strategy: Strategy;
  /** Only clients from these CIDRs are served (403 otherwise); absent = everyone. */
  readonly allowCidrs?: readonly string[];
  readonly slots: SlotTable;
}

export interface HaproxyConfigInput {
  /** The runtime API's unix socket (admin level, mode 600; it also hands listeners to a reloaded worker). */
  readonly adminSocket: string;
  readonly connectTimeoutMs: number;
  /** Longest silence from a replica before a 504. */
  readonly serverTimeoutMs: number;
  /** How long a reloaded-away worker may finish its requests. */
  readonly hardStopAfterMs: number;
  /** The agent's unix socket for the request log (`haproxy-log-socket.ts`); absent: no log. */
  readonly requestLogSocket?: string;
  readonly routes: readonly HaproxyRouteConfig[];
}

/** HAProxy names take letters, digits and `-_.:`; the rest of a route key becomes `_`. */
export function haproxyName(key: string): string {
  return `r_${key.replace(/[^A-Za-z0-9_.:-]/g, '_')}`;
}

export function renderConfig(input: HaproxyConfigInput): string {
  const lines = [
    '# Written by the Skiff agent; every change is rewritten from its routes. Do not edit.',
    'global',
    `  stats socket ${input.adminSocket} mode 600 level admin expose-fd listeners`,
    // One thread: on a small host the replicas, not the proxy, should have the other cores.
    '  nbthread 1',
    `  hard-stop-after ${input.hardStopAfterMs}ms`,
    ...requestLogRing(input.requestLogSocket),
    '',
    'defaults',
    '  mode http',
    `  timeout connect ${input.connectTimeoutMs}ms`,
    '  timeout client 60s',
    `  timeout server ${input.serverTimeoutMs}ms`,
    '  timeout http-request 30s',
    '  timeout http-keep-alive 10s',
    '  timeout queue 5s',
    '  option forwardfor',
    '  option http-keep-alive',
    // A reload soft-stops the old worker: its idle keep-alive clients are answered once more
    // (with Connection: close) instead of being closed under a request they may be sending.
    '  option idle-close-on-response',
    '  http-reuse safe',
    '  retries 3',
    '  retry-on conn-failure empty-response',
    '  option redispatch 1',
    ...(input.requestLogSocket === undefined
      ? []
      : [
          `  log ring@${REQUEST_RING} local0 info`,
          // A connection that sent no request (a port check) is no request.
          '  option dontlognull',
          `  log-format "${LOG_FORMAT}"`,
        ]),
  ];
  for (const route of input.routes) lines.push('', ...renderRoute(route));
  return `${lines.join('\n')}\n`;
}

const REQUEST_RING = 'skiff_requests';

/**
 * The ring the request log goes through: HAProxy writes each line into it and a forwarder sends
 * them on to the agent's socket (reconnecting when the agent restarts), so a slow or absent reader
 * costs ring space, never a request's time. 2 MiB holds about 60,000 lines, 30 s at 2,000
 * requests/s; older lines are overwritten if the agent falls further behind.
 */
function requestLogRing(socket: string | undefined): string[] {
  if (socket === undefined) return [];
  return [
    '',
    `ring ${REQUEST_RING}`,
    '  format raw',
    '  maxlen 512',
    `  size ${2 * 1024 * 1024}`,
    '  timeout connect 1s',
    '  timeout server 30s',
    `  server agent unix@${socket}`,
  ];
}

function renderRoute(route: HaproxyRouteConfig): string[] {
  const lines = [`# ${route.key}`];
  // A route whose listeners all failed to bind keeps its backend (its slots) and no frontend.
  if (route.binds.length > 0) lines.push(...renderFrontend(route), '');
  lines.push(
    `backend ${route.name}`,
    `  balance ${route.strategy === 'least-connections' ? 'leastconn' : 'roundrobin'}`,
    // A replica that answered nothing may have run the request: only repeatable methods go again.
    '  http-request disable-l7-retry unless { method GET HEAD OPTIONS }',
  );
  for (const [index, slot] of route.slots.slots.entries()) {
    const disabled = slot.holder === null ? ' disabled' : '';
    lines.push(`  server ${slotName(index)} ${slot.host}:${slot.port}${disabled}`);
  }
  return lines;
}

function renderFrontend(route: HaproxyRouteConfig): string[] {
  const lines = [`frontend ${route.name}`];
  for (const bind of route.binds) lines.push(`  bind ${bind.host}:${bind.port}`);
  if (route.allowCidrs !== undefined) {
    // No CIDR at all lets nobody in: 0.0.0.0/32 is never a client's address.
    const sources = route.allowCidrs.length === 0 ? '0.0.0.0/32' : route.allowCidrs.join(' ');
    lines.push(`  http-request deny deny_status 403 unless { src ${sources} }`);
  }
  lines.push(
    '  http-request set-header X-Forwarded-Proto http unless { req.hdr(x-forwarded-proto) -m found }',
    '  http-request set-header X-Forwarded-Host %[req.hdr(host)] if { req.hdr(host) -m found } !{ req.hdr(x-forwarded-host) -m found }',
    `  default_backend ${route.name}`,
  );
  return lines;
}
