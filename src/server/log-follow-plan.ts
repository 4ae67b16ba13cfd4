/**
 * Following a service's logs (`logs -f`) follows the service, not the replicas that ran when it
 * began: each pass compares the service's tasks with the log streams open for them and says which
 * to open. A replica placed later, a replacement container, a restart, or a node that came back
 * after cutting a stream gets one; a stream still open, or one that ended with nothing new to
 * show, is left alone. Pure: the follower (service-log-follower.ts) does the opening.
 */
import type { StoredTask } from '../store/store.ts';

/** What the follower remembers of a task's latest log stream. */
export interface TaskStream {
  readonly open: boolean;
  /** The container, its state and restart count as observed when the stream was opened. */
  readonly containerId: string;
  readonly state: string;
  readonly restartCount: number;
  /** It ended because its node went away, not because its container did. */
  readonly cutOff: boolean;
}

export interface LogTarget {
  readonly taskId: string;
  readonly nodeId: string;
  readonly containerId: string;
  readonly state: string;
  readonly restartCount: number;
  /** Whether this task had a stream before (a reopen shows only what is new). */
  readonly resumed: boolean;
}

export function logStreamsToOpen(
  tasks: readonly StoredTask[],
  streams: ReadonlyMap<string, TaskStream>,
  isConnected: (nodeId: string) => boolean,
): LogTarget[] {
  const targets: LogTarget[] = [];
  for (const task of tasks) {
    const containerId = task.observed?.container_id;
    if (task.nodeId === null || !containerId || !task.observed || !isConnected(task.nodeId)) continue;
    const { state, restart_count: restartCount } = task.observed;
    const previous = streams.get(task.id);
    if (previous?.open) continue;
    const changed =
      previous === undefined ||
      previous.cutOff ||
      previous.containerId !== containerId ||
      previous.restartCount !== restartCount ||
      // Opened before the container ran (docker may end such a stream at once): now it does.
      (previous.state !== 'running' && state === 'running');
    if (!changed) continue;
    targets.push({
      taskId: task.id,
      nodeId: task.nodeId,
      containerId,
      state,
      restartCount,
      resumed: previous !== undefined,
    });
  }
  return targets;
}

/**
 * A Docker log timestamp (RFC 3339 with up to nine fraction digits, trailing zeros trimmed) as
 * text that sorts in time order: the fraction padded to nine digits.
 */
export function sortableLogTime(at: string): string {
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$/.exec(at);
  if (!match) return at;
  return `${match[1]}.${(match[2] ?? '').padEnd(9, '0')}Z`;
}
