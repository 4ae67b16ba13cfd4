/**
 * A ContainerEngine wrapper that timestamps every engine call worth timing (list, hasImage, pull,
 * create, start, stop, remove), so a bench can show where a deploy's, a restart's or a failover's
 * time goes. The benches keep the calls in memory (EngineTracer); an agent started with
 * `SKIFF_ENGINE_TRACE=FILE` appends one JSON line per call to FILE (engineTraceFile), which is how
 * a lab bench sees the engine calls of agents running in other processes.
 */
import { appendFileSync } from 'node:fs';
import type { ContainerEngine } from './container-engine.ts';

/** One engine call, in ms of the tracer's clock (the `performance` origin unless told). */
export interface EngineCall {
  readonly op: string;
  readonly start: number;
  readonly end: number;
  /** The container, image or network the call was about (its first string argument, ids cut to 12). */
  readonly target?: string;
  /** For listManaged: how many containers, and how many of them running. */
  readonly detail?: string;
  /** Set when the call threw: its message. */
  readonly error?: string;
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
 * Wraps an engine so every call of the methods in TRACED goes to `record` with when it started and
 * ended (by `now`); everything else passes straight through. A proxy rather than a class, so it
 * keeps up with the ContainerEngine port as it grows.
 */
export function tracedEngine(
  inner: ContainerEngine,
  record: (call: EngineCall) => void,
  now: () => number = () => performance.now(),
): ContainerEngine {
  return new Proxy(inner, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      const op = typeof property === 'string' ? TRACED[property] : undefined;
      // Methods run on the real engine: its private fields are not reachable through a proxy.
      if (op === undefined) return (...args: unknown[]) => Reflect.apply(value, target, args);
      return async (...args: unknown[]) => {
        const start = now();
        const about = targetOf(args[0]);
        const base = about === undefined ? { op, start } : { op, start, target: about };
        try {
          const result: unknown = await Reflect.apply(value, target, args);
          const call: EngineCall = { ...base, end: now() };
          record(Array.isArray(result) ? { ...call, detail: listDetail(result) } : call);
          return result;
        } catch (error) {
          record({ ...base, end: now(), error: error instanceof Error ? error.message : String(error) });
          throw error;
        }
      };
    },
  });
}

/** The calls of one engine kept in memory, for a bench in the same process. */
export class EngineTracer {
  calls: EngineCall[] = [];
  readonly engine: ContainerEngine;

  constructor(inner: ContainerEngine) {
    this.engine = tracedEngine(inner, (call) => this.calls.push(call));
  }

  /** Returns the calls recorded so far and starts a new record. */
  take(): EngineCall[] {
    const calls = this.calls;
    this.calls = [];
    return calls;
  }
}

/**
 * The engine traced into `file`, one JSON line per call (`{"engine":…,"op":…,"start":…,"end":…}`,
 * epoch ms with sub-ms digits), appended synchronously so lines of several agents never interleave.
 */
export function engineTraceFile(inner: ContainerEngine, file: string, engineName: string): ContainerEngine {
  const epochNow = () => performance.timeOrigin + performance.now();
  return tracedEngine(
    inner,
    (call) => appendFileSync(file, `${JSON.stringify({ engine: engineName, ...call })}\n`),
    epochNow,
  );
}

function targetOf(argument: unknown): string | undefined {
  if (typeof argument === 'string') return /^[0-9a-f]{64}$/.test(argument) ? argument.slice(0, 12) : argument;
  if (typeof argument === 'object' && argument !== null && 'name' in argument) {
    const name = (argument as { name: unknown }).name;
    return typeof name === 'string' ? name : undefined;
  }
  return undefined;
}

function listDetail(list: readonly unknown[]): string {
  const running = list.filter(
    (c) =>
      typeof c === 'object' && c !== null && 'state' in c && (c as { state: unknown }).state === 'running',
  );
  return `${list.length} listed, ${running.length} running`;
}
