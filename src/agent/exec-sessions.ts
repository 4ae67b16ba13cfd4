/**
 * The agent's side of `skiff exec`: each `exec.start` runs its command in the task's running
 * container through the engine and relays output to the server in bounded chunks, stdin and
 * terminal sizes from it, and one `exec.exit` at the end. Sessions end with the server link
 * (whoever asked is gone); at most `MAX_SESSIONS` run at once, so an exec storm cannot exhaust
 * the agent.
 */
import type { ContainerEngine, ExecSession } from '../docker/container-engine.ts';
import { type ExecRequest, MAX_EXEC_CHUNK_BYTES } from '../protocol/exec-messages.ts';
import type { AgentMessage } from '../protocol/messages.ts';

const MAX_SESSIONS = 32;

export interface ExecSessionsOptions {
  readonly engine: ContainerEngine;
  /** False when the link is down: the session is ended. */
  readonly send: (message: AgentMessage) => boolean;
  /** The running container of a task on this node, if there is one. */
  readonly runningContainer: (taskId: string) => string | undefined;
}

export class ExecSessions {
  readonly #options: ExecSessionsOptions;
  /** By request id; undefined while the engine is still starting it. */
  readonly #sessions = new Map<string, ExecSession | undefined>();
  /** What arrived for a session still starting, applied once it runs. */
  readonly #early = new Map<string, ((session: ExecSession) => void)[]>();

  constructor(options: ExecSessionsOptions) {
    this.#options = options;
  }

  async start(requestId: string, taskId: string, request: ExecRequest): Promise<void> {
    if (this.#sessions.has(requestId)) return;
    if (this.#sessions.size >= MAX_SESSIONS)
      return this.#exit(requestId, null, `this node runs ${MAX_SESSIONS} execs already`);
    const containerId = this.#options.runningContainer(taskId);
    if (containerId === undefined)
      return this.#exit(requestId, null, 'the replica is not running on this node');
    this.#sessions.set(requestId, undefined);
    let session: ExecSession;
    try {
      session = await this.#options.engine.execSession(containerId, request);
    } catch (error) {
      this.#sessions.delete(requestId);
      this.#early.delete(requestId);
      return this.#exit(requestId, null, error instanceof Error ? error.message : String(error));
    }
    if (!this.#sessions.has(requestId)) {
      // Cancelled while starting.
      session.close();
      return;
    }
    this.#sessions.set(requestId, session);
    session.onOutput((stream, data) => {
      for (let at = 0; at < data.length; at += MAX_EXEC_CHUNK_BYTES) {
        const chunk = data.subarray(at, at + MAX_EXEC_CHUNK_BYTES).toString('base64');
        if (!this.#options.send({ type: 'exec.output', request_id: requestId, stream, data: chunk })) {
          this.cancel(requestId);
          return;
        }
      }
    });
    if (request.cols !== undefined && request.rows !== undefined)
      void session.resize(request.cols, request.rows).catch(() => {});
    for (const apply of this.#early.get(requestId) ?? []) apply(session);
    this.#early.delete(requestId);
    const code = await session.exited;
    if (!this.#sessions.delete(requestId)) return;
    this.#exit(requestId, code, null);
  }

  input(requestId: string, data: string): void {
    this.#with(requestId, (session) => session.write(Buffer.from(data, 'base64')));
  }

  inputEnd(requestId: string): void {
    this.#with(requestId, (session) => session.endInput());
  }

  resize(requestId: string, cols: number, rows: number): void {
    this.#with(requestId, (session) => void session.resize(cols, rows).catch(() => {}));
  }

  cancel(requestId: string): void {
    const session = this.#sessions.get(requestId);
    this.#sessions.delete(requestId);
    this.#early.delete(requestId);
    session?.close();
  }

  /** The link to the server is gone: nobody reads these sessions any more. */
  cancelAll(): void {
    for (const id of [...this.#sessions.keys()]) this.cancel(id);
  }

  #with(requestId: string, apply: (session: ExecSession) => void): void {
    if (!this.#sessions.has(requestId)) return;
    const session = this.#sessions.get(requestId);
    if (session) apply(session);
    else this.#early.set(requestId, [...(this.#early.get(requestId) ?? []), apply]);
  }

  #exit(requestId: string, code: number | null, error: string | null): void {
    this.#options.send({
      type: 'exec.exit',
      request_id: requestId,
      exit_code: code === null ? null : Math.max(-1, Math.min(255, code)),
      error,
    });
  }
}
