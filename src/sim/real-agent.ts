/**
 * The real `Agent` (src/agent/agent.ts) on a fake engine, with its data plane off and its data
 * dir wherever the caller says (a tmpfs one for hundreds of them), wearing the shape the fleet
 * drives. For measuring what the real agent costs against `SimAgent`; see README.md for why the
 * fleet uses `SimAgent` by default.
 */
import { join } from 'node:path';
import { Agent } from '../agent/agent.ts';
import type { UsageSource } from '../agent/stats-usage.ts';
import type { FakeEngine } from './fake-engine.ts';
import type { SimAgentCounters } from './sim-agent.ts';

export interface RealAgentOptions {
  readonly serverUrl: string;
  readonly joinToken: string;
  readonly name: string;
  readonly engine: FakeEngine;
  /** Each agent writes its assignment.json under `<dataRoot>/<name>`. */
  readonly dataRoot: string;
  readonly usage?: UsageSource;
  readonly statsIntervalMs?: number;
  readonly log: (message: string) => void;
}

export class RealAgent {
  readonly #agent: Agent;
  readonly name: string;
  readonly engine: FakeEngine;
  /** Set when the agent first logs its registration (it has no other way to say so); never unset. */
  registered = false;
  /** The real agent counts nothing; zeros keep the fleet's totals honest about what is known. */
  readonly counters: SimAgentCounters = {
    messages: 0,
    bytes: 0,
    endpointsWhole: 0,
    endpointWholeBytes: 0,
    endpointDeltas: 0,
    endpointDeltaBytes: 0,
    endpointResyncs: 0,
    assignments: 0,
    reports: 0,
    stats: 0,
    images: 0,
    connects: 0,
  };

  constructor(options: RealAgentOptions) {
    this.name = options.name;
    this.engine = options.engine;
    this.#agent = new Agent({
      serverUrls: [options.serverUrl],
      joinToken: options.joinToken,
      engine: options.engine,
      // Reported as a real agent does; the fake disk is never full, so nothing is collected.
      images: options.engine,
      name: options.name,
      dataDir: join(options.dataRoot, options.name),
      dataPlane: false,
      ...(options.usage ? { usage: options.usage, statsIntervalMs: options.statsIntervalMs } : {}),
      log: (message) => {
        if (message.startsWith('registered as ')) {
          this.registered = true;
          this.counters.connects++;
        } else options.log(`${options.name}: ${message}`);
      },
    });
  }

  start(): Promise<void> {
    return this.#agent.start();
  }

  /** The real agent can only stop politely; the server sees the connection go either way. */
  kill(): void {
    this.#agent.stop();
  }

  stop(): void {
    this.#agent.stop();
  }
}
