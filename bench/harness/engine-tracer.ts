/**
 * A ContainerEngine wrapper that timestamps every engine call worth timing (list, hasImage, pull,
 * create, start, stop, remove), so a bench can show where a deploy's or a restart's time goes.
 */
import type { ContainerEngine } from '../../src/docker/container-engine.ts';

/** One engine call, in ms since the `performance` origin. */
export interface EngineCall {
  readonly op: string;
  readonly start: number;
  readonly end: number;
  /** For listManaged: how many containers, and how many of them running. */
  readonly detail?: string;
}

/** The engine calls worth timing, by method name → short label. */
const TRACED: Readonly<Record<string, string>> = {
  listManaged: 'list',
  hasImage: 'hasImage',
  pullImage: 'pull',
  createContainer: 'create',
  startContainer: 'start',
  stopContainer: 'stop',
  removeContainer: 'remove',
};

/**
 * Wraps an engine so every call of the methods in TRACED is recorded with when it started and
 * ended; everything else passes straight through. A proxy rather than a class, so it keeps up
 * with the ContainerEngine port as it grows.
 */
export class EngineTracer {
  calls: EngineCall[] = [];
  readonly engine: ContainerEngine;

  constructor(inner: ContainerEngine) {
    const record = (call: EngineCall) => this.calls.push(call);
    this.engine = new Proxy(inner, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        const op = typeof property === 'string' ? TRACED[property] : undefined;
        // Methods run on the real engine: its private fields are not reachable through a proxy.
        if (op === undefined) return (...args: unknown[]) => Reflect.apply(value, target, args);
        return async (...args: unknown[]) => {
          const start = performance.now();
          const result: unknown = await Reflect.apply(value, target, args);
          const call: EngineCall = { op, start, end: performance.now() };
          record(Array.isArray(result) ? { ...call, detail: listDetail(result) } : call);
          return result;
        };
      },
    });
  }

  /** Returns the calls recorded so far and starts a new record. */
  take(): EngineCall[] {
    const calls = this.calls;
    this.calls = [];
    return calls;
  }
}

function listDetail(list: readonly unknown[]): string {
  const running = list.filter(
    (c) =>
      typeof c === 'object' && c !== null && 'state' in c && (c as { state: unknown }).state === 'running',
  );
  return `${list.length} listed, ${running.length} running`;
}
