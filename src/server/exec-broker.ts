/**
 * Relays `skiff exec` sessions between whoever asked (the API's WebSocket) and the agent that
 * runs the replica: input, terminal sizes and cancellation one way, output and the exit code the
 * other. Like the log broker, a session belongs to the agent connection it went out on: when that
 * node disconnects, the session ends. Only the node a session went to may answer for it.
 */
import { randomUUID } from 'node:crypto';
import { type ExecRequest, MAX_EXEC_CHUNK_BYTES } from '../protocol/exec-messages.ts';
import type { AgentLink, Cluster } from './cluster.ts';

export interface ExecHandlers {
  readonly onOutput: (stream: 'stdout' | 'stderr', data: Buffer) => void;
  /** `code` null: the command could not run (`error` says why) or the node went away. */
  readonly onExit: (code: number | null, error: string | null) => void;
}

export interface ExecHandle {
  input(data: Buffer): void;
  inputEnd(): void;
  resize(cols: number, rows: number): void;
  cancel(): void;
}

interface OpenSession extends ExecHandlers {
  readonly nodeId: string;
  readonly link: AgentLink;
}

export class ExecBroker {
  readonly #cluster: Cluster;
  readonly #open = new Map<string, OpenSession>();

  constructor(cluster: Cluster) {
    this.#cluster = cluster;
  }

  /** Undefined when the node is not connected. */
  open(nodeId: string, taskId: string, request: ExecRequest, handlers: ExecHandlers): ExecHandle | undefined {
    const link = this.#cluster.get(nodeId)?.link;
    if (!link) return undefined;
    const requestId = randomUUID();
    this.#open.set(requestId, { nodeId, link, ...handlers });
    link.send({ type: 'exec.start', request_id: requestId, task_id: taskId, request });
    const live = () => this.#open.get(requestId)?.link;
    return {
      input: (data) => {
        for (let at = 0; at < data.length; at += MAX_EXEC_CHUNK_BYTES) {
          const chunk = data.subarray(at, at + MAX_EXEC_CHUNK_BYTES).toString('base64');
          live()?.send({ type: 'exec.input', request_id: requestId, data: chunk });
        }
      },
      inputEnd: () => live()?.send({ type: 'exec.input_end', request_id: requestId }),
      resize: (cols, rows) => live()?.send({ type: 'exec.resize', request_id: requestId, cols, rows }),
      cancel: () => {
        const session = this.#open.get(requestId);
        if (!session) return;
        this.#open.delete(requestId);
        session.link.send({ type: 'exec.cancel', request_id: requestId });
      },
    };
  }

  output(fromNode: string, requestId: string, stream: 'stdout' | 'stderr', data: string): void {
    const session = this.#open.get(requestId);
    if (session?.nodeId === fromNode) session.onOutput(stream, Buffer.from(data, 'base64'));
  }

  exit(fromNode: string, requestId: string, code: number | null, error: string | null): void {
    const session = this.#open.get(requestId);
    if (session?.nodeId !== fromNode) return;
    this.#open.delete(requestId);
    session.onExit(code, error);
  }

  nodeGone(nodeId: string): void {
    for (const [id, session] of this.#open) {
      if (session.nodeId !== nodeId) continue;
      this.#open.delete(id);
      session.onExit(null, `node ${nodeId} disconnected`);
    }
  }

  /** Sessions open now (for tests and the server's shutdown). */
  get size(): number {
    return this.#open.size;
  }
}
