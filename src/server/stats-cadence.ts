/**
 * How often an agent sends `stats` and `agent.metrics`: every `base` (5 s) in a small cluster, so
 * the stats stream, the dashboard and `skiff top` stay as fresh as the README promises; longer in a
 * large one, so the server handles at most `MAX_STATS_PER_S` of each a second whatever the size
 * (at 1,000 nodes a 5 s interval is 200 of each a second, the largest share of idle CPU).
 * Told in the welcome (`stats_interval_ms`) and retold with `heartbeat.interval` as the cluster
 * grows; only past the base, so older agents (which ignore the field) and small clusters are as before.
 */

/** Every agent's own default (agent/stats-sampler.ts): what the README's freshness promises rest on. */
export const STATS_BASE_MS = 5000;

/** The most `stats` (and, apart, `agent.metrics`) messages a second the server should handle. */
export const MAX_STATS_PER_S = 40;

/** The stats interval for an agent in a cluster of `nodes`: the base, or longer. */
export function statsIntervalMs(baseMs: number, nodes: number): number {
  return Math.max(baseMs, Math.ceil((nodes * 1000) / MAX_STATS_PER_S));
}
