/**
 * The views (output-format.ts) of what the read commands print: the API's data with its table,
 * its wide table (the table plus columns that make it too wide for most terminals) and its names.
 * Pure; `nowMs` is passed for ages and retry times.
 */
import type { NodeView, ServiceView } from '../model/views.ts';
import { formatNodeTable } from './node-table.ts';
import type { View } from './output-format.ts';
import {
  formatReplicaTable,
  formatServiceHeader,
  formatServiceTable,
  REPLICA_COLUMNS,
  replicaCells,
  serviceRow,
  sortedReplicas,
} from './service-tables.ts';
import { formatTable } from './table.ts';

export function serviceListView(services: readonly ServiceView[]): View {
  const sorted = [...services].sort((a, b) => a.name.localeCompare(b.name));
  return {
    data: services,
    table: () => formatServiceTable(services),
    wide: () =>
      formatTable(
        ['NAME', 'STATUS', 'REPLICAS', 'HEALTH', 'IMAGE', 'REVISION', 'PORTS', 'MESSAGE'],
        sorted.map((s) => [...serviceRow(s), s.image, String(s.revision), specPorts(s), s.message ?? '-']),
      ),
    names: () => sorted.map((s) => s.name),
  };
}

export function serviceDetailView(service: ServiceView, nowMs: number): View {
  const replicas = sortedReplicas(service);
  return {
    data: service,
    table: () => [formatServiceHeader(service), ...formatReplicaTable(service, nowMs)],
    wide: () => {
      // The added columns go before MESSAGE, the free-text one.
      const header = [...REPLICA_COLUMNS.slice(0, -1), 'TASK', 'REVISION', 'EXIT', 'PORTS', 'MESSAGE'];
      const rows = replicas.map((r) => {
        const cells = replicaCells(r, nowMs);
        const ports = r.ports.map((p) => `${p.host_port}->${p.container_port}/${p.protocol}`).join(',');
        return [
          ...cells.slice(0, -1),
          r.task_id,
          String(r.revision),
          r.exit_code === null ? '-' : String(r.exit_code),
          ports || '-',
          cells.at(-1) ?? '-',
        ];
      });
      return [formatServiceHeader(service), ...formatTable(header, rows)];
    },
    names: () => replicas.map((r) => r.name),
  };
}

export function nodeListView(nodes: readonly NodeView[], nowMs: number): View {
  const sorted = [...nodes].sort((a, b) => a.name.localeCompare(b.name));
  return {
    data: nodes,
    table: () => formatNodeTable(nodes, nowMs),
    wide: () =>
      formatTable(
        ['NAME', 'ID', 'STATUS', 'AVAILABILITY', 'ADDRESS', 'ENGINE', 'LAST HEARTBEAT', 'MESSAGE'],
        sorted.map((n) => [
          n.name,
          n.id,
          n.status,
          n.availability,
          n.address,
          n.engine_version,
          n.last_heartbeat ?? '-',
          n.message ?? '-',
        ]),
      ),
    names: () => sorted.map((n) => n.name),
  };
}

/** A view of one object whose table is a few lines, named by `name`. */
export function objectView(data: unknown, name: string, table: () => readonly string[]): View {
  return { data, table, names: () => [name] };
}

/** A list's view with a plain table, its names in `names`. */
export function listView(
  data: unknown,
  header: readonly string[],
  rows: readonly (readonly string[])[],
  names?: readonly string[],
): View {
  return {
    data,
    table: () => formatTable(header, rows),
    ...(names === undefined ? {} : { names: () => names }),
  };
}

function specPorts(service: Pick<ServiceView, 'ports'>): string {
  const ports = service.ports.map((p) =>
    p.host_port === undefined
      ? `${p.container_port}/${p.protocol}`
      : `${p.host_port}:${p.container_port}/${p.protocol}`,
  );
  return ports.join(',') || '-';
}
