/**
 * `skiff top`'s state and what moves it: stream messages (snapshot, changes, resync), keys, and
 * the outcome of actions. Pure: each step takes a state and returns the next, and a key may ask
 * for an effect (scale, roll back, follow logs, quit) that the command performs.
 */

import type { StatsSample, StreamServerMessage, TaskView } from '../../api/stream/messages.ts';
import type { Role } from '../../auth/roles.ts';
import type { SkiffEvent } from '../../model/event.ts';
import type { NodeView, ServiceView } from '../../model/views.ts';

export const PANES = ['services', 'replicas', 'nodes', 'events'] as const;
export type Pane = (typeof PANES)[number];

/** Events kept for the events pane. */
const MAX_EVENTS = 200;
/** Log lines kept while following logs. */
export const MAX_LOG_LINES = 500;

export type ConnectionState = 'connecting' | 'live' | 'reconnecting';

export type Prompt =
  | { readonly kind: 'filter'; readonly text: string }
  | { readonly kind: 'scale'; readonly service: string; readonly text: string }
  | { readonly kind: 'rollback'; readonly service: string };

export interface TopState {
  readonly connection: ConnectionState;
  /** Why the connection is not live (the last error), shown in the header. */
  readonly connectionNote: string;
  readonly epoch: string;
  readonly seq: number;
  readonly principal: { readonly name: string; readonly role: Role } | undefined;
  readonly services: ReadonlyMap<string, ServiceView>;
  readonly tasks: ReadonlyMap<string, TaskView>;
  readonly nodes: ReadonlyMap<string, NodeView>;
  readonly events: readonly SkiffEvent[];
  /** The latest resource sample per replica (task id). */
  readonly stats: ReadonlyMap<string, StatsSample>;
  readonly focus: Pane;
  /** Selected row per pane, an index into that pane's visible rows. */
  readonly selected: Readonly<Record<Pane, number>>;
  /** Rows shown contain this text (case-insensitive); '' shows all. */
  readonly filter: string;
  readonly prompt: Prompt | undefined;
  /** The last action's outcome, or a hint. */
  readonly status: string;
  /** Following logs of a service (optionally one replica), when set. */
  readonly logs:
    | { readonly service: string; readonly replica: string | undefined; readonly lines: readonly string[] }
    | undefined;
}

export function initialState(): TopState {
  return {
    connection: 'connecting',
    connectionNote: '',
    epoch: '',
    seq: 0,
    principal: undefined,
    services: new Map(),
    tasks: new Map(),
    nodes: new Map(),
    events: [],
    stats: new Map(),
    focus: 'services',
    selected: { services: 0, replicas: 0, nodes: 0, events: 0 },
    filter: '',
    prompt: undefined,
    status: '',
    logs: undefined,
  };
}

// Stream -----------------------------------------------------------------------------------------

export interface MessageOutcome {
  readonly state: TopState;
  /** The message did not follow from the state: ask the server for a snapshot. */
  readonly resync: boolean;
}

function applyRows<T>(
  rows: ReadonlyMap<string, T>,
  change: { readonly upsert: readonly T[]; readonly remove: readonly string[] } | undefined,
  keyOf: (row: T) => string,
): ReadonlyMap<string, T> {
  if (!change) return rows;
  const next = new Map(rows);
  for (const row of change.upsert) next.set(keyOf(row), row);
  for (const key of change.remove) next.delete(key);
  return next;
}

export function applyMessage(state: TopState, message: StreamServerMessage): MessageOutcome {
  switch (message.type) {
    case 'snapshot':
      return {
        resync: false,
        state: clampSelection({
          ...state,
          connection: 'live',
          connectionNote: '',
          epoch: message.epoch,
          seq: message.seq,
          principal: message.principal,
          services: new Map(message.services.map((s) => [s.name, s])),
          tasks: new Map(message.tasks.map((t) => [t.task_id, t])),
          nodes: new Map(message.nodes.map((n) => [n.id, n])),
          events: message.events.slice(-MAX_EVENTS),
          stats: new Map(message.stats.map((sample) => [sample.task_id, sample])),
        }),
      };
    case 'changes': {
      if (message.epoch !== state.epoch || message.from !== state.seq) return { state, resync: true };
      return {
        resync: false,
        state: clampSelection({
          ...state,
          seq: message.seq,
          services: applyRows(state.services, message.services, (s) => s.name),
          tasks: applyRows(state.tasks, message.tasks, (t) => t.task_id),
          nodes: applyRows(state.nodes, message.nodes, (n) => n.id),
          events: message.events ? [...state.events, ...message.events].slice(-MAX_EVENTS) : state.events,
          stats: statsAfter(state.stats, message),
        }),
      };
    }
    case 'resync':
      // A snapshot follows; until then the old rows stay on screen.
      return { state: { ...state, connectionNote: `resync: ${message.reason}` }, resync: false };
    case 'heartbeat':
      return { state, resync: false };
    case 'error':
      return { state: { ...state, connectionNote: message.error }, resync: false };
  }
}

function statsAfter(
  stats: ReadonlyMap<string, StatsSample>,
  message: {
    readonly stats?: readonly StatsSample[];
    readonly tasks?: { readonly remove: readonly string[] };
  },
): ReadonlyMap<string, StatsSample> {
  if (!message.stats && !message.tasks?.remove.length) return stats;
  const next = new Map(stats);
  for (const sample of message.stats ?? []) next.set(sample.task_id, sample);
  for (const id of message.tasks?.remove ?? []) next.delete(id);
  return next;
}

export function connectionChanged(state: TopState, connection: ConnectionState, note = ''): TopState {
  return { ...state, connection, connectionNote: note };
}

// What each pane shows ---------------------------------------------------------------------------

const matches = (filter: string, ...texts: (string | null)[]) =>
  filter === '' || texts.some((t) => t?.toLowerCase().includes(filter.toLowerCase()));

export function visibleServices(state: TopState): ServiceView[] {
  return [...state.services.values()]
    .filter((s) => matches(state.filter, s.name, s.image, s.status))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The selected service (the replicas pane shows its replicas). */
export function selectedService(state: TopState): ServiceView | undefined {
  const services = visibleServices(state);
  return services[Math.min(state.selected.services, services.length - 1)];
}

export function visibleReplicas(state: TopState): TaskView[] {
  const service = selectedService(state);
  if (!service) return [];
  return [...state.tasks.values()]
    .filter((t) => t.service === service.name)
    .sort((a, b) => a.slot - b.slot || a.revision - b.revision);
}

export function visibleNodes(state: TopState): NodeView[] {
  return [...state.nodes.values()]
    .filter((n) => matches(state.filter, n.name, n.status, n.availability))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Newest first. */
export function visibleEvents(state: TopState): SkiffEvent[] {
  return state.events.filter((e) => matches(state.filter, e.message)).reverse();
}

function rowCountOf(state: TopState, pane: Pane): number {
  switch (pane) {
    case 'services':
      return visibleServices(state).length;
    case 'replicas':
      return visibleReplicas(state).length;
    case 'nodes':
      return visibleNodes(state).length;
    case 'events':
      return visibleEvents(state).length;
  }
}

function clampSelection(state: TopState): TopState {
  // Services first: the replicas pane depends on which service is selected.
  const selected = { ...state.selected };
  for (const pane of PANES) {
    const count = rowCountOf({ ...state, selected }, pane);
    selected[pane] = Math.max(0, Math.min(selected[pane], count - 1));
  }
  return { ...state, selected };
}

// Keys -------------------------------------------------------------------------------------------

/** A key as the terminal reports it: a printable character or one of these names. */
export type Key = string;
export const KEYS = {
  up: 'up',
  down: 'down',
  tab: 'tab',
  backTab: 'backtab',
  enter: 'enter',
  escape: 'escape',
  backspace: 'backspace',
  interrupt: 'ctrl-c',
  pageUp: 'pageup',
  pageDown: 'pagedown',
} as const;

export type Effect =
  | { readonly type: 'scale'; readonly service: string; readonly replicas: number }
  | { readonly type: 'rollback'; readonly service: string }
  | { readonly type: 'follow-logs'; readonly service: string; readonly replica: string | undefined }
  | { readonly type: 'stop-logs' }
  | { readonly type: 'quit' };

export interface KeyOutcome {
  readonly state: TopState;
  readonly effect?: Effect;
}

const MAX_REPLICAS = 10_000;

export function applyKey(state: TopState, key: Key): KeyOutcome {
  if (key === KEYS.interrupt) return { state, effect: { type: 'quit' } };
  if (state.prompt) return promptKey(state, state.prompt, key);
  if (state.logs) {
    if (key === 'q' || key === KEYS.escape || key === 'l')
      return { state: { ...state, logs: undefined }, effect: { type: 'stop-logs' } };
    return { state };
  }
  switch (key) {
    case 'q':
      return { state, effect: { type: 'quit' } };
    case KEYS.tab:
    case KEYS.backTab: {
      const step = key === KEYS.tab ? 1 : PANES.length - 1;
      return {
        state: { ...state, focus: PANES[(PANES.indexOf(state.focus) + step) % PANES.length] ?? 'services' },
      };
    }
    case '1':
    case '2':
    case '3':
    case '4':
      return { state: { ...state, focus: PANES[Number(key) - 1] ?? 'services' } };
    case KEYS.up:
    case 'k':
      return { state: move(state, -1) };
    case KEYS.down:
    case 'j':
      return { state: move(state, 1) };
    case KEYS.pageUp:
      return { state: move(state, -10) };
    case KEYS.pageDown:
      return { state: move(state, 10) };
    case '/':
      return { state: { ...state, prompt: { kind: 'filter', text: state.filter } } };
    case KEYS.escape:
      return { state: clampSelection({ ...state, filter: '', status: '' }) };
    case 's':
    case 'r':
    case 'l':
      return serviceAction(state, key);
    default:
      return { state };
  }
}

function move(state: TopState, by: number): TopState {
  const selected = { ...state.selected, [state.focus]: state.selected[state.focus] + by };
  // Another service selected: the replicas pane starts at its top.
  if (state.focus === 'services') selected.replicas = 0;
  return clampSelection({ ...state, selected });
}

function serviceAction(state: TopState, key: 's' | 'r' | 'l'): KeyOutcome {
  const service = selectedService(state);
  if (!service) return { state: { ...state, status: 'no service selected' } };
  if (key === 'l') {
    const replica =
      state.focus === 'replicas' ? visibleReplicas(state)[state.selected.replicas]?.name : undefined;
    return {
      state: { ...state, logs: { service: service.name, replica, lines: [] } },
      effect: { type: 'follow-logs', service: service.name, replica },
    };
  }
  const role = state.principal?.role;
  if (role === 'viewer')
    return {
      state: {
        ...state,
        status: `token ${state.principal?.name} is a viewer: it may not ${key === 's' ? 'scale' : 'roll back'}`,
      },
    };
  if (key === 's') return { state: { ...state, prompt: { kind: 'scale', service: service.name, text: '' } } };
  return { state: { ...state, prompt: { kind: 'rollback', service: service.name } } };
}

function promptKey(state: TopState, prompt: Prompt, key: Key): KeyOutcome {
  if (key === KEYS.escape) return { state: { ...state, prompt: undefined } };
  if (prompt.kind === 'rollback') {
    if (key === 'y' || key === KEYS.enter)
      return {
        state: { ...state, prompt: undefined, status: `rolling back ${prompt.service} …` },
        effect: { type: 'rollback', service: prompt.service },
      };
    return { state: { ...state, prompt: undefined, status: 'roll back cancelled' } };
  }
  if (key === KEYS.enter) {
    if (prompt.kind === 'filter')
      return { state: clampSelection({ ...state, prompt: undefined, filter: prompt.text.trim() }) };
    const replicas = /^\d{1,5}$/.test(prompt.text) ? Number(prompt.text) : Number.NaN;
    if (!Number.isInteger(replicas) || replicas > MAX_REPLICAS)
      return { state: { ...state, prompt: undefined, status: `not a replica count: "${prompt.text}"` } };
    return {
      state: { ...state, prompt: undefined, status: `scaling ${prompt.service} to ${replicas} …` },
      effect: { type: 'scale', service: prompt.service, replicas },
    };
  }
  if (key === KEYS.backspace)
    return { state: { ...state, prompt: { ...prompt, text: prompt.text.slice(0, -1) } } };
  // Printable characters only; the scale prompt takes digits.
  if ([...key].length !== 1 || key < ' ') return { state };
  if (prompt.kind === 'scale' && !/\d/.test(key)) return { state };
  const next: Prompt = { ...prompt, text: (prompt.text + key).slice(0, 64) };
  // The filter applies as it is typed, as in k9s.
  if (next.kind === 'filter')
    return { state: clampSelection({ ...state, prompt: next, filter: next.text.trim() }) };
  return { state: { ...state, prompt: next } };
}

// Actions and logs -------------------------------------------------------------------------------

export function actionDone(state: TopState, status: string): TopState {
  return { ...state, status };
}

export function logLines(state: TopState, service: string, lines: readonly string[]): TopState {
  if (!state.logs || state.logs.service !== service) return state;
  return { ...state, logs: { ...state.logs, lines: [...state.logs.lines, ...lines].slice(-MAX_LOG_LINES) } };
}
