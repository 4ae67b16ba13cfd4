/**
 * Relays log requests to agents and their lines back to the HTTP handler that asked. A request
 * ends when the agent says so, when the asker cancels, or when the agent's node goes away.
 */
import { randomUUID } from 'node:crypto';
import type { AgentMessage, LogRequest } from '../protocol/messages.ts';
import type { Cluster } from './cluster.ts';

type Chunk = Extract<AgentMessage, { type: 'logs.chunk' }>['lines'];

export interface LogHandlers {
  readonly onLines: (lines: Chunk) => void;
  readonly onEnd: (error: string | null) => void;
}

interface OpenRequest extends LogHandlers {
  readonly nodeId: string;
}

export class LogBroker {
  readonly #cluster: Cluster;
  readonly #open = new Map<string, OpenRequest>();

  constructor(cluster: Cluster) {
    this.#cluster = cluster;
  }

  /** Returns a cancel function, or undefined when the node is not connected. */
  open(nodeId: string, taskId: string, request: LogRequest, handlers: LogHandlers): (() => void) | undefined {
    const link = this.#cluster.get(nodeId)?.link;
    if (!link) return undefined;
    const requestId = randomUUID();
    this.#open.set(requestId, { nodeId, ...handlers });
    link.send({ type: 'logs.start', request_id: requestId, task_id: taskId, request });
    return () => {
      if (!this.#open.delete(requestId)) return;
      this.#cluster.get(nodeId)?.link?.send({ type: 'logs.cancel', request_id: requestId });
    };
  }

  chunk(requestId: string, lines: Chunk): void {
    this.#open.get(requestId)?.onLines(lines);
  }

  end(requestId: string, error: string | null): void {
    const request = this.#open.get(requestId);
    if (!request) return;
    this.#open.delete(requestId);
    request.onEnd(error);
  }

  nodeGone(nodeId: string): void {
    for (const [id, request] of this.#open) {
      if (request.nodeId === nodeId) this.end(id, `node ${nodeId} disconnected`);
    }
  }
}
