/**
 * What `ps` prints: one row per service (`api-server  running  3/3  healthy`), and for one service
 * a header line and one row per replica. Pure; `now` (epoch ms) is passed for "retry in 5s".
 */
import type { ContainerView, ServiceView } from '../model/views.ts';
import { formatSpan } from './human-units.ts';
import { formatTable } from './table.ts';

export const SERVICE_COLUMNS = ['NAME', 'STATUS', 'REPLICAS', 'HEALTH'] as const;
export const REPLICA_COLUMNS = [
  'NAME',
  'CONTAINER',
  'NODE',
  'STATUS',
  'HEALTH',
  'RESTARTS',
  'MESSAGE',
] as const;

type ServiceCounts = Pick<ServiceView, 'name' | 'status' | 'replicas' | 'running' | 'healthy'>;

export function serviceRow(service: ServiceCounts): string[] {
  return [service.name, service.status, `${service.running}/${service.replicas}`, healthCell(service)];
}

function healthCell({ replicas, healthy }: ServiceCounts): string {
  if (replicas === 0) return '-';
  return healthy === replicas ? 'healthy' : `${healthy}/${replicas} healthy`;
}

export function formatServiceTable(services: readonly ServiceCounts[]): string[] {
  const sorted = [...services].sort((a, b) => a.name.localeCompare(b.name));
  return formatTable(SERVICE_COLUMNS, sorted.map(serviceRow));
}

/** The one-line outcome `deploy` and `scale` print once converged: the service's `ps` row. */
export function formatServiceSummary(service: ServiceCounts): string {
  return serviceRow(service).join(' ');
}

export function formatServiceHeader(
  service: Pick<ServiceView, 'name' | 'image' | 'revision' | 'status'>,
): string {
  return `service ${service.name}  image ${service.image}  revision ${service.revision}  status ${service.status}`;
}

export function formatReplicaTable(service: Pick<ServiceView, 'containers'>, nowMs: number): string[] {
  return formatTable(
    REPLICA_COLUMNS,
    sortedReplicas(service).map((replica) => replicaCells(replica, nowMs)),
  );
}

/** Replicas in table order: by slot, then revision. */
export function sortedReplicas(service: Pick<ServiceView, 'containers'>): ContainerView[] {
  return [...service.containers].sort((a, b) => a.slot - b.slot || a.revision - b.revision);
}

/** One replica's cells, in REPLICA_COLUMNS order. */
export function replicaCells(replica: ContainerView, nowMs: number): string[] {
  return [
    replica.name,
    replica.id ?? '-',
    replica.node_id ?? '-',
    replica.status,
    replica.health,
    String(replica.restart_count),
    messageCell(replica, nowMs),
  ];
}

function messageCell(replica: Pick<ContainerView, 'message' | 'retry_at'>, nowMs: number): string {
  const retryMs = replica.retry_at === null ? Number.NaN : Date.parse(replica.retry_at);
  // Rounded up so a pending retry never reads "retry in 0s".
  const retry = Number.isNaN(retryMs)
    ? ''
    : `retry in ${formatSpan(Math.ceil((retryMs - nowMs) / 1000) * 1000)}`;
  if (replica.message && retry) return `${replica.message} (${retry})`;
  return replica.message || retry || '-';
}
