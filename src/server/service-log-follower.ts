/**
 * `logs?follow=true` for a whole service: keeps one agent log stream open per task and, on every
 * pass, opens streams for what log-follow-plan.ts says is new (a replica placed later, a
 * replacement, a restart, a node back after cutting a stream). A pass runs when an event of the
 * service is recorded (a start, a replacement) and once a second whatever happens. Lines a
 * reopened stream repeats are dropped by timestamp. It ends when the asker stops it or the
 * service is deleted.
 */
import { slotName } from '../model/names.ts';
import type { LogLine } from '../model/views.ts';
import type { LogRequest } from '../protocol/messages.ts';
import type { Store } from '../store/store.ts';
import type { Cluster } from './cluster.ts';
import type { EventLog } from './event-log.ts';
import type { LogBroker } from './log-broker.ts';
import { type LogTarget, logStreamsToOpen, sortableLogTime } from './log-follow-plan.ts';

/** The level-triggered pass: what a missed event would otherwise delay at most. */
const RESCAN_MS = 1000;

export interface FollowerOptions {
  readonly service: string;
  /** The asker's `tail` and `since`, for the replicas running when following begins. */
  readonly request: LogRequest;
  readonly store: Store;
  readonly cluster: Cluster;
  readonly logs: LogBroker;
  readonly events: Pick<EventLog, 'subscribe'>;
  readonly onLines: (lines: LogLine[]) => void;
  /** The service is gone: nothing more will come. */
  readonly onEnd: () => void;
}

/** A task's latest stream; the fields log-follow-plan.ts reads are kept current. */
interface Stream {
  open: boolean;
  readonly containerId: string;
  readonly state: string;
  readonly restartCount: number;
  cutOff: boolean;
  cancel: (() => void) | undefined;
  /** The last line shown, as sortableLogTime text: a reopened stream shows only later ones. */
  lastAt: string | undefined;
}

export class ServiceLogFollower {
  readonly #options: FollowerOptions;
  readonly #streams = new Map<string, Stream>();
  #timer: NodeJS.Timeout | undefined;
  #soon: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;
  /** During the first pass: the replicas running when following began get the asker's tail. */
  #firstPass = true;
  #stopped = false;

  constructor(options: FollowerOptions) {
    this.#options = options;
  }

  start(): void {
    this.#unsubscribe = this.#options.events.subscribe((event) => {
      // After the report that recorded the event has been applied as a whole.
      if (event.service === this.#options.service && this.#soon === undefined) {
        this.#soon = setTimeout(() => {
          this.#soon = undefined;
          this.#pass();
        }, 0);
      }
    });
    this.#timer = setInterval(() => this.#pass(), RESCAN_MS);
    this.#pass();
    this.#firstPass = false;
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    clearTimeout(this.#soon);
    this.#unsubscribe?.();
    for (const stream of this.#streams.values()) stream.cancel?.();
  }

  #pass(): void {
    if (this.#stopped) return;
    const { service, store, cluster, logs } = this.#options;
    logs.endStale();
    if (!store.getService(service)) {
      this.stop();
      this.#options.onEnd();
      return;
    }
    const tasks = store.listTasks(service);
    const targets = logStreamsToOpen(
      tasks,
      this.#streams,
      (nodeId) => cluster.get(nodeId)?.link !== undefined,
    );
    for (const target of targets) {
      const task = tasks.find((t) => t.id === target.taskId);
      if (task) this.#open(target, slotName(task.service, task.slot));
    }
  }

  #open(target: LogTarget, container: string): void {
    const { logs, request } = this.#options;
    const lastAt = this.#streams.get(target.taskId)?.lastAt;
    const stream: Stream = {
      open: true,
      containerId: target.containerId,
      state: target.state,
      restartCount: target.restartCount,
      cutOff: false,
      cancel: undefined,
      lastAt,
    };
    this.#streams.set(target.taskId, stream);
    // Replicas running when following began get the asker's tail and since; a replica that
    // appears later is new and shown whole; a reopened stream resumes after the last line shown
    // (from that second: Docker's `since` has whole seconds, the rest is dropped below).
    const since = lastAt === undefined ? request.since : Math.floor(Date.parse(lastAt) / 1000);
    const tail = this.#firstPass && !target.resumed ? request.tail : null;
    const cancel = logs.open(
      target.nodeId,
      target.taskId,
      { tail, since, follow: true },
      {
        onLines: (lines) => {
          const fresh: LogLine[] = [];
          for (const line of lines) {
            const at = sortableLogTime(line.at);
            if (stream.lastAt !== undefined && at <= stream.lastAt) continue;
            stream.lastAt = at;
            fresh.push({
              timestamp: line.at,
              container,
              node_id: target.nodeId,
              stream: line.stream,
              line: line.text,
            });
          }
          if (fresh.length > 0) this.#options.onLines(fresh);
        },
        onEnd: (_error, cutOff) => {
          stream.open = false;
          stream.cancel = undefined;
          stream.cutOff = cutOff;
        },
      },
    );
    if (cancel === undefined) {
      stream.open = false;
      stream.cutOff = true;
    } else if (stream.open) stream.cancel = cancel;
  }
}
