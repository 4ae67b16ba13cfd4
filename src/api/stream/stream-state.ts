/**
 * The stream's state as a value, and what changed between two of them. Pure: the hub builds a
 * state from the same views the REST routes show, diffs it against the last one, and hands the
 * difference to every client. Rows are compared by their JSON, so a row whose data did not change
 * is never sent (and the dashboard's structural sharing never re-renders it).
 */
import type { SkiffEvent } from '../../model/event.ts';
import type { NodeView, ServiceView } from '../../model/views.ts';
import type { NodeUsage, StatsSample, TaskView } from './messages.ts';

export interface Row<T> {
  readonly view: T;
  /** What the row is compared by. */
  readonly key: string;
}

export interface StreamState {
  readonly services: ReadonlyMap<string, Row<ServiceView>>;
  readonly tasks: ReadonlyMap<string, Row<TaskView>>;
  readonly nodes: ReadonlyMap<string, Row<NodeView>>;
}

export const EMPTY_STATE: StreamState = { services: new Map(), tasks: new Map(), nodes: new Map() };

export interface TopicChanges<T> {
  readonly upsert: T[];
  readonly remove: string[];
}

/** What changed, by topic; a topic with nothing new is absent. Events and stats are appended as they come. */
export interface StreamChanges {
  readonly services?: TopicChanges<ServiceView>;
  readonly tasks?: TopicChanges<TaskView>;
  readonly nodes?: TopicChanges<NodeView>;
  readonly events?: SkiffEvent[];
  readonly stats?: StatsSample[];
  readonly node_usage?: NodeUsage[];
}

/** The state of these views: tasks are the services' containers, keyed by task id. */
export function buildState(services: readonly ServiceView[], nodes: readonly NodeView[]): StreamState {
  const serviceRows = new Map<string, Row<ServiceView>>();
  const taskRows = new Map<string, Row<TaskView>>();
  for (const service of services) {
    serviceRows.set(service.name, { view: service, key: JSON.stringify(service) });
    for (const container of service.containers) {
      const task: TaskView = { ...container, service: service.name };
      taskRows.set(task.task_id, { view: task, key: JSON.stringify(task) });
    }
  }
  const nodeRows = new Map<string, Row<NodeView>>();
  for (const node of nodes) {
    // A heartbeat alone is no change: 100 nodes beating twice a second would be a stream of noise.
    nodeRows.set(node.id, { view: node, key: JSON.stringify({ ...node, last_heartbeat: null }) });
  }
  return { services: serviceRows, tasks: taskRows, nodes: nodeRows };
}

function diffRows<T>(
  before: ReadonlyMap<string, Row<T>>,
  after: ReadonlyMap<string, Row<T>>,
): TopicChanges<T> | undefined {
  const upsert: T[] = [];
  const remove: string[] = [];
  for (const [id, row] of after) if (before.get(id)?.key !== row.key) upsert.push(row.view);
  for (const id of before.keys()) if (!after.has(id)) remove.push(id);
  return upsert.length === 0 && remove.length === 0 ? undefined : { upsert, remove };
}

export function diffStates(before: StreamState, after: StreamState): StreamChanges {
  const services = diffRows(before.services, after.services);
  const tasks = diffRows(before.tasks, after.tasks);
  const nodes = diffRows(before.nodes, after.nodes);
  return { ...(services && { services }), ...(tasks && { tasks }), ...(nodes && { nodes }) };
}

export function isEmpty(changes: StreamChanges): boolean {
  return (
    changes.services === undefined &&
    changes.tasks === undefined &&
    changes.nodes === undefined &&
    (changes.events?.length ?? 0) === 0 &&
    (changes.stats?.length ?? 0) === 0 &&
    (changes.node_usage?.length ?? 0) === 0
  );
}

/** How many rows a change carries: what a slow client's backlog is measured in. */
export function rowCount(changes: StreamChanges): number {
  const topic = (t: TopicChanges<unknown> | undefined) => (t ? t.upsert.length + t.remove.length : 0);
  return (
    topic(changes.services) +
    topic(changes.tasks) +
    topic(changes.nodes) +
    (changes.events?.length ?? 0) +
    (changes.stats?.length ?? 0) +
    (changes.node_usage?.length ?? 0)
  );
}

function mergeTopic<T>(
  first: TopicChanges<T> | undefined,
  second: TopicChanges<T> | undefined,
  keyOf: (row: T) => string,
): TopicChanges<T> | undefined {
  if (!first) return second;
  if (!second) return first;
  // The later word on a row wins: an upsert after a removal brings it back, a removal after an
  // upsert takes it away (and a removal of a row the client never saw is harmless).
  const rows = new Map<string, T | null>();
  for (const row of first.upsert) rows.set(keyOf(row), row);
  for (const id of first.remove) rows.set(id, null);
  for (const row of second.upsert) rows.set(keyOf(row), row);
  for (const id of second.remove) rows.set(id, null);
  const upsert: T[] = [];
  const remove: string[] = [];
  for (const [id, row] of rows) {
    if (row === null) remove.push(id);
    else upsert.push(row);
  }
  return { upsert, remove };
}

/** One change equal to applying `first` then `second`: how a burst becomes one message. */
export function mergeChanges(first: StreamChanges, second: StreamChanges): StreamChanges {
  const services = mergeTopic(first.services, second.services, (s) => s.name);
  const tasks = mergeTopic(first.tasks, second.tasks, (t) => t.task_id);
  const nodes = mergeTopic(first.nodes, second.nodes, (n) => n.id);
  const events = [...(first.events ?? []), ...(second.events ?? [])];
  const stats = latestSamples([...(first.stats ?? []), ...(second.stats ?? [])]);
  const nodeUsage = latestUsage([...(first.node_usage ?? []), ...(second.node_usage ?? [])]);
  return {
    ...(services && { services }),
    ...(tasks && { tasks }),
    ...(nodes && { nodes }),
    ...(events.length > 0 && { events }),
    ...(stats.length > 0 && { stats }),
    ...(nodeUsage.length > 0 && { node_usage: nodeUsage }),
  };
}

/** The newest sample of each replica, in the order replicas were first seen. */
export function latestSamples(samples: readonly StatsSample[]): StatsSample[] {
  const byTask = new Map<string, StatsSample>();
  for (const sample of samples) byTask.set(sample.task_id, sample);
  return [...byTask.values()];
}

/** The newest usage of each node, in the order nodes were first seen. */
export function latestUsage(usage: readonly NodeUsage[]): NodeUsage[] {
  const byNode = new Map<string, NodeUsage>();
  for (const u of usage) byNode.set(u.node_id, u);
  return [...byNode.values()];
}
