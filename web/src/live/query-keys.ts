/**
 * The query cache's keys for what the stream keeps current. Streamed queries are never stale
 * (`staleTime: Infinity`): the stream, not a refetch, brings their changes.
 */
export const keys = {
  services: ['services'] as const,
  nodes: ['nodes'] as const,
  events: ['events'] as const,
  serviceStats: (name: string) => ['stats', 'service', name] as const,
  /** A node's replicas' summed usage. */
  nodeStats: (id: string) => ['stats', 'node', id] as const,
  /** A node's host usage, as its agent measures the machine. */
  hostUsage: (id: string) => ['stats', 'host', id] as const,
};

/** Events kept in the cache for the live views. */
export const MAX_CACHED_EVENTS = 2000;
