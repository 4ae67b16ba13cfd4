/**
 * The live connection as React sees it: one per tab, started while signed in, and hooks that read
 * the streamed cache keys. Those queries are never fetched by React Query itself (`enabled:
 * false`): the connection is their only writer, from the stream or, in fallback, from polling.
 */
import type { QueryClient } from '@tanstack/react-query';
import { useQuery } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { createContext, useContext, useEffect, useState, useSyncExternalStore } from 'react';
import type { NodeView, ServiceView, SkiffEvent } from '../api/types.ts';
import type { ConnectionState } from './connection.ts';
import { LiveConnection, streamUrl } from './connection.ts';
import { keys } from './query-keys.ts';
import type { Series } from './stats-series.ts';

const LiveContext = createContext<LiveConnection | undefined>(undefined);

export function LiveProvider({
  client,
  onAuthLost,
  children,
}: {
  client: QueryClient;
  onAuthLost: () => void;
  children: ReactNode;
}) {
  const [connection] = useState(
    () => new LiveConnection(client, { url: streamUrl(window.location), onAuthLost }),
  );
  useEffect(() => {
    connection.start();
    return () => connection.stop();
  }, [connection]);
  return <LiveContext.Provider value={connection}>{children}</LiveContext.Provider>;
}

const STOPPED: ConnectionState = { mode: 'stopped', retryAtMs: null, detail: null, syncedAtMs: null };
const noop = () => () => {};

export function useConnectionState(): ConnectionState {
  const connection = useContext(LiveContext);
  return useSyncExternalStore(connection?.subscribe ?? noop, connection?.getState ?? (() => STOPPED));
}

const streamed = {
  enabled: false,
  // The batch keeps unchanged rows' identities itself (apply-batch.ts): no deep compare per write.
  structuralSharing: false,
  staleTime: Number.POSITIVE_INFINITY,
  gcTime: Number.POSITIVE_INFINITY,
} as const;
const never = () => Promise.reject(new Error('written by the live connection only'));

export function useServices(): readonly ServiceView[] | undefined {
  return useQuery<readonly ServiceView[]>({ queryKey: keys.services, queryFn: never, ...streamed }).data;
}

/** One service; its component re-renders only when that service changed. */
export function useService(name: string): ServiceView | null | undefined {
  return useQuery<readonly ServiceView[], Error, ServiceView | null>({
    queryKey: keys.services,
    queryFn: never,
    ...streamed,
    select: (list) => list.find((s) => s.name === name) ?? null,
  }).data;
}

export function useNodes(): readonly NodeView[] | undefined {
  return useQuery<readonly NodeView[]>({ queryKey: keys.nodes, queryFn: never, ...streamed }).data;
}

export function useEvents(): readonly SkiffEvent[] | undefined {
  return useQuery<readonly SkiffEvent[]>({ queryKey: keys.events, queryFn: never, ...streamed }).data;
}

export function useServiceStats(name: string): Series | undefined {
  return useQuery<Series>({ queryKey: keys.serviceStats(name), queryFn: never, ...streamed }).data;
}

export function useNodeStats(id: string): Series | undefined {
  return useQuery<Series>({ queryKey: keys.nodeStats(id), queryFn: never, ...streamed }).data;
}

/** The node's host usage (the whole machine, as its agent measures it). */
export function useHostUsage(id: string): Series | undefined {
  return useQuery<Series>({ queryKey: keys.hostUsage(id), queryFn: never, ...streamed }).data;
}
