/**
 * The agent's HTTP proxy requests, counted by service and status class: the proxy names a route
 * `service:port`, and a status code per series would be a series per code any backend invents.
 */
import type { AgentTally } from './agent-counters.ts';

export function statusClass(status: number | undefined): string {
  if (status === undefined || status < 200 || status > 599) return 'error';
  return `${Math.floor(status / 100)}xx`;
}

export function serviceOfRoute(routeKey: string): string {
  const colon = routeKey.lastIndexOf(':');
  return colon === -1 ? routeKey : routeKey.slice(0, colon);
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

/** The same counters from HAProxy's polled answers: `count` answers of one class at once. */
export function haproxyAnswerCounter(
  tally: AgentTally,
): (routeKey: string, statusClass: string, count: number, averageSeconds: number | undefined) => void {
  return (routeKey, statusClass, count, averageSeconds) => {
    const service = serviceOfRoute(routeKey);
    tally.count('proxyRequests', service, statusClass, count);
    if (averageSeconds !== undefined) tally.observe('proxyDuration', service, averageSeconds, count);
  };
}
