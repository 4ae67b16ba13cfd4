/**
 * Relays log requests to agents and their lines back to the HTTP handler that asked. A request
 * ends when the agent says so, when the asker cancels, or when the connection it went out on is
 * gone (the node disconnected, or its agent came back on a new connection): then it is cut off.
 */
import { randomUUID } from 'node:crypto';
import type { AgentMessage, LogRequest } from '../protocol/messages.ts';
import type { AgentLink, Cluster } from './cluster.ts';

type Chunk = Extract<AgentMessage, { type: 'logs.chunk' }>['lines'];

export interface LogHandlers {
  readonly onLines: (lines: Chunk) => void;
  /** `cutOff`: ended because the agent's connection went away, not by the agent. */
  readonly onEnd: (error: string | null, cutOff: boolean) => void;
}

interface OpenRequest extends LogHandlers {
  readonly nodeId: string;
  readonly link: AgentLink;
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
    this.#open.set(requestId, { nodeId, link, ...handlers });
    link.send({ type: 'logs.start', request_id: requestId, task_id: taskId, request });
    return () => {
      if (!this.#open.delete(requestId)) return;
      this.#cluster.get(nodeId)?.link?.send({ type: 'logs.cancel', request_id: requestId });
    };
  }

  chunk(requestId: string, lines: Chunk): void {
    this.#open.get(requestId)?.onLines(lines);
  }

  end(requestId: string, error: string | null, cutOff = false): void {
    const request = this.#open.get(requestId);
    if (!request) return;
    this.#open.delete(requestId);
    request.onEnd(error, cutOff);
  }

  nodeGone(nodeId: string): void {
    for (const [id, request] of this.#open) {
      if (request.nodeId === nodeId) this.end(id, `node ${nodeId} disconnected`, true);
    }
  }

  /**
   * Ends the requests that went out on a connection the node no longer uses: an agent that came
   * back on a new connection before the old one was seen to drop never answers them.
   */
  endStale(): void {
    for (const [id, request] of this.#open) {
      if (this.#cluster.get(request.nodeId)?.link !== request.link) {
        this.end(id, `node ${request.nodeId} reconnected`, true);
      }
    }
  }
}
