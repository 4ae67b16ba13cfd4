/**
 * The agent's HTTP proxy requests, counted by service and status class: the proxy names a route
 * `service:port`, and a status code per series would be a series per code any backend invents.
 * Both proxies feed it per request: the built-in one as it answers, HAProxy through its request
 * log (src/net/haproxy/haproxy-request-log.ts).
 */
import type { AgentTally } from './agent-counters.ts';

export function statusClass(status: number | undefined): string {
  if (status === undefined || status < 200 || status > 599) return 'error';
  return `${Math.floor(status / 100)}xx`;
}

/**
 * The service a route serves: route keys are `SERVICE@NETWORK:PORT` (a VIP port) and
 * `SERVICE:ingress:HOSTPORT` (a published port, data-plane-plan.ts); a service name holds
 * neither `@` nor `:`.
 */
export function serviceOfRoute(routeKey: string): string {
  const end = routeKey.search(/[@:]/);
  return end === -1 ? routeKey : routeKey.slice(0, end);
}

export function proxiedRequestCounter(
  tally: AgentTally,
): (routeKey: string, status: number | undefined, seconds: number) => void {
  return (routeKey, status, seconds) => {
    const service = serviceOfRoute(routeKey);
    tally.count('proxyRequests', service, statusClass(status));
    tally.observe('proxyDuration', service, seconds);
  };
}
