/**
 * `skiff top`'s screen as lines of text: a header (server, connection, who), the services,
 * replicas (of the selected service), nodes and events panes, a prompt or status line and the
 * keys. Pure: the state, the terminal's size and `now` in; exactly `rows` lines out, none wider
 * than `columns`. With `colour`, the focused pane's title and the selected row are in reverse video.
 * `plainSnapshot` is what a non-terminal stdout gets instead: every row, no selection, no colour.
 */
import type { ChangesMessage } from '../../api/stream/messages.ts';
import { formatEventLine } from '../event-line.ts';
import { formatBytes, formatCores } from '../human-units.ts';
import { serviceRow } from '../service-tables.ts';
import { formatTable } from '../table.ts';
import type { Pane, TopState } from './top-state.ts';
import { visibleEvents, visibleNodes, visibleReplicas, visibleServices } from './top-state.ts';

export interface Screen {
  readonly columns: number;
  readonly rows: number;
  readonly colour: boolean;
  /** Where the stream comes from, for the header. */
  readonly server: string;
}

const REVERSE = '\u001b[7m';
const RESET = '\u001b[0m';
const KEY_HELP = '↑↓/jk move  tab/1-4 pane  / filter  s scale  r roll back  l logs  esc clear  q quit';

interface Table {
  readonly title: string;
  readonly header: string;
  readonly rows: readonly string[];
}

function table(title: string, head: readonly string[], cells: readonly (readonly string[])[]): Table {
  const [header = '', ...rows] = formatTable(head, cells);
  return { title, header, rows };
}

function servicesTable(state: TopState): Table {
  const services = visibleServices(state);
  return table(
    `SERVICES (${services.length})`,
    ['NAME', 'STATUS', 'REPLICAS', 'HEALTH', 'IMAGE', 'REV', 'MESSAGE'],
    services.map((s) => [...serviceRow(s), s.image, String(s.revision), s.message ?? '']),
  );
}

function replicasTable(state: TopState): Table {
  const service = visibleServices(state)[state.selected.services];
  const replicas = visibleReplicas(state);
  return table(
    service ? `REPLICAS of ${service.name} (${replicas.length})` : 'REPLICAS',
    ['NAME', 'STATUS', 'HEALTH', 'NODE', 'RESTARTS', 'REV', 'CPU', 'MEMORY', 'MESSAGE'],
    replicas.map((t) => {
      const sample = state.stats.get(t.task_id);
      return [
        t.name,
        t.status,
        t.health,
        t.node_id ?? '-',
        String(t.restart_count),
        String(t.revision),
        sample ? `${sample.cpu_percent.toFixed(1)}%` : '-',
        sample ? formatBytes(sample.memory_bytes) : '-',
        t.message ?? '',
      ];
    }),
  );
}

function nodesTable(state: TopState): Table {
  const nodes = visibleNodes(state);
  return table(
    `NODES (${nodes.length})`,
    ['NAME', 'STATUS', 'AVAILABILITY', 'CPU', 'MEMORY', 'REPLICAS', 'ADDRESS'],
    nodes.map((n) => [
      n.name,
      n.status,
      n.availability,
      `${formatCores(n.allocated_cpu_millicores)}/${formatCores(n.cpu_millicores)}`,
      `${formatBytes(n.allocated_memory_bytes)}/${formatBytes(n.memory_bytes)}`,
      String(n.containers),
      n.address,
    ]),
  );
}

function eventsTable(state: TopState): Table {
  const events = visibleEvents(state);
  return { title: `EVENTS (${events.length}, newest first)`, header: '', rows: events.map(formatEventLine) };
}

const TABLES: Record<Pane, (state: TopState) => Table> = {
  services: servicesTable,
  replicas: replicasTable,
  nodes: nodesTable,
  events: eventsTable,
};

function fit(line: string, columns: number): string {
  const chars = [...line];
  return chars.length <= columns ? line : `${chars.slice(0, Math.max(0, columns - 1)).join('')}…`;
}

/** The rows of a pane that fit in `height` lines, scrolled so the selected one shows. */
function paneLines(state: TopState, pane: Pane, height: number, screen: Screen): string[] {
  const t = TABLES[pane](state);
  const focused = state.focus === pane;
  const title = `${focused ? '▶ ' : '  '}${t.title}${state.filter && pane !== 'replicas' ? `  filter: ${state.filter}` : ''}`;
  const lines = [
    screen.colour && focused ? `${REVERSE}${fit(title, screen.columns)}${RESET}` : fit(title, screen.columns),
  ];
  if (height <= 1) return lines;
  const headerLines = t.header === '' ? [] : [`  ${t.header}`];
  const room = Math.max(0, height - 1 - headerLines.length);
  const selected = state.selected[pane];
  const first = Math.max(0, Math.min(selected - room + 1, t.rows.length - room));
  const shown = t.rows.slice(first, first + room);
  lines.push(...headerLines.map((h) => fit(h, screen.columns)));
  shown.forEach((row, i) => {
    const isSelected = focused && first + i === selected;
    const text = fit(`${isSelected ? '> ' : '  '}${row}`, screen.columns);
    lines.push(screen.colour && isSelected ? `${REVERSE}${text}${RESET}` : text);
  });
  if (t.rows.length === 0) lines.push('  (none)');
  while (lines.length < height) lines.push('');
  return lines.slice(0, height);
}

function headerLine(state: TopState, screen: Screen, now: number): string {
  const who = state.principal ? `${state.principal.name} (${state.principal.role})` : '';
  const connection =
    state.connection === 'live'
      ? 'live'
      : `${state.connection}${state.connectionNote ? `: ${state.connectionNote}` : ''}`;
  const time = new Date(now).toTimeString().slice(0, 8);
  return fit(`skiff top  ${screen.server}  [${connection}]  ${who}  ${time}`, screen.columns);
}

function promptLine(state: TopState): string {
  const prompt = state.prompt;
  if (!prompt) return state.status;
  switch (prompt.kind) {
    case 'filter':
      return `/${prompt.text}_`;
    case 'scale':
      return `scale ${prompt.service} (now ${state.services.get(prompt.service)?.replicas ?? '?'}) to: ${prompt.text}_  (enter to apply, esc to cancel)`;
    case 'rollback':
      return `roll ${prompt.service} back to its previous revision? (y/n)`;
  }
}

function logScreen(state: TopState, screen: Screen, now: number): string[] {
  const logs = state.logs;
  const title = `LOGS of ${logs?.replica ?? logs?.service ?? ''} (following; q or esc to go back)`;
  const height = Math.max(0, screen.rows - 2);
  const body = (logs?.lines ?? []).slice(-height).map((l) => fit(l, screen.columns));
  while (body.length < height) body.push('');
  return [headerLine(state, screen, now), fit(title, screen.columns), ...body].slice(0, screen.rows);
}

export function render(state: TopState, screen: Screen, now: number): string[] {
  if (state.logs) return logScreen(state, screen, now);
  // Header, four panes, the prompt/status line and the keys.
  const paneRows = Math.max(4, screen.rows - 3);
  const services = Math.max(3, Math.floor(paneRows * 0.3));
  const replicas = Math.max(3, Math.floor(paneRows * 0.25));
  const nodes = Math.max(3, Math.floor(paneRows * 0.15));
  const events = Math.max(2, paneRows - services - replicas - nodes);
  const lines = [
    headerLine(state, screen, now),
    ...paneLines(state, 'services', services, screen),
    ...paneLines(state, 'replicas', replicas, screen),
    ...paneLines(state, 'nodes', nodes, screen),
    ...paneLines(state, 'events', events, screen),
    fit(promptLine(state), screen.columns),
    fit(KEY_HELP, screen.columns),
  ];
  return lines.slice(0, screen.rows);
}

/** Every pane in full, as plain text: what `skiff top` prints when stdout is not a terminal. */
export function plainSnapshot(state: TopState): string[] {
  const lines: string[] = [];
  const services = servicesTable(state);
  lines.push(services.title, services.header, ...services.rows, '');
  for (const service of visibleServices(state)) {
    const replicas = replicasTable({
      ...state,
      selected: { ...state.selected, services: visibleServices(state).indexOf(service) },
    });
    lines.push(replicas.title, replicas.header, ...replicas.rows, '');
  }
  const nodes = nodesTable(state);
  lines.push(nodes.title, nodes.header, ...nodes.rows, '');
  const events = eventsTable(state);
  lines.push(events.title, ...events.rows);
  return lines.map((l) => l.trimEnd());
}

/** One line per changed row or new event: what a non-terminal stdout gets after the snapshot. */
export function plainChangeLines(changes: ChangesMessage, before: TopState): string[] {
  const lines: string[] = [];
  for (const s of changes.services?.upsert ?? []) lines.push(`service ${serviceRow(s).join(' ')}`);
  for (const name of changes.services?.remove ?? []) lines.push(`service ${name} removed`);
  for (const t of changes.tasks?.upsert ?? [])
    lines.push(
      `replica ${t.name} ${t.status} ${t.health} ${t.node_id ?? '-'}${t.message ? ` ${t.message}` : ''}`,
    );
  for (const id of changes.tasks?.remove ?? [])
    lines.push(`replica ${before.tasks.get(id)?.name ?? id} gone`);
  for (const n of changes.nodes?.upsert ?? []) lines.push(`node ${n.name} ${n.status} ${n.availability}`);
  for (const id of changes.nodes?.remove ?? []) lines.push(`node ${id} removed`);
  for (const e of changes.events ?? []) lines.push(formatEventLine(e));
  return lines;
}
