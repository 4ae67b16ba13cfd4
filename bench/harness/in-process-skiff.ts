/**
 * Skiff in the bench's own process, as `skiff up` composes it: a server on 127.0.0.1 (port 0)
 * and an agent joining it over a real WebSocket, on the default engine (or one the bench wraps,
 * e.g. a tracer). Owns starting them in order, waiting for the node to be ready, the agent's log,
 * and stopping them in the one safe order: the agent first, then the server once it has seen the
 * agent go. Also checks that the images a bench needs are already local (it never pulls).
 */

import Docker from 'dockerode';
import { Agent, type HttpProxyChoice } from '../../src/agent/agent.ts';
import type { ContainerEngine } from '../../src/docker/container-engine.ts';
import { parseAddressPool } from '../../src/model/addressing.ts';
import { removeRules } from '../../src/net/data-plane/netfilter.ts';
import { chainPrefix } from '../../src/net/data-plane/netfilter-rules.ts';
import type { RunningServer } from '../../src/server/skiff-server.ts';
import { startServer } from '../../src/server/skiff-server.ts';
import type { StoreLocation } from '../../src/store/store-url.ts';
import { freePool } from '../../test/support/free-pool.ts';
import { errorText } from './report.ts';
import { SkiffApi } from './skiff-api.ts';
import { waitFor } from './wait.ts';

const NODE_READY_TIMEOUT_MS = 20_000;

export interface AgentSettings {
  readonly engine: ContainerEngine;
  readonly name: string;
  readonly dataDir: string;
  /** Engine operations at once; the agent's default when absent. */
  readonly concurrency?: number;
  /** Where the agent dials (a relay in front of the server); the server itself when absent. */
  readonly serverUrls?: readonly string[];
  /** `--http-proxy` of the agent; its default (auto) when absent. */
  readonly httpProxy?: HttpProxyChoice;
  /** False: no data plane (no VIPs, DNS or netfilter rules), to see what it costs. */
  readonly dataPlane?: boolean;
}

export class InProcessSkiff {
  server: RunningServer | undefined;
  agent: Agent | undefined;
  /** Everything the in-process agent logged. */
  readonly agentLog: string[] = [];
  #api: SkiffApi | undefined;
  #serverOpen = false;

  /** The server alone; an agent joins with `startAgent`, or from another process. */
  async startServer(
    dataDir: string,
    log: (message: string) => void = () => {},
    store?: StoreLocation,
  ): Promise<{ api: SkiffApi; server: RunningServer }> {
    // A pool of its own, as test clusters get: a leftover bridge of another run never stops a bench.
    const addressPool = parseAddressPool(await freePool());
    const server = await startServer({
      dataDir,
      port: 0,
      listen: '127.0.0.1',
      addressPool,
      log,
      ...(store ? { store } : {}),
    });
    this.server = server;
    this.#serverOpen = true;
    const api = new SkiffApi(server.url, server.tokens.admin);
    this.#api = api;
    return { api, server };
  }

  async startAgent(settings: AgentSettings): Promise<void> {
    const server = this.#running();
    this.agent = new Agent({
      serverUrls: settings.serverUrls ?? [server.url],
      joinToken: server.tokens.join,
      engine: settings.engine,
      name: settings.name,
      dataDir: settings.dataDir,
      concurrency: settings.concurrency,
      ...(settings.dataPlane === false ? { dataPlane: false } : {}),
      ...(settings.httpProxy ? { httpProxy: settings.httpProxy } : {}),
      log: (message) => this.agentLog.push(message),
    });
    await this.agent.start();
  }

  /** Until the server reports a ready node (stopping on Ctrl-C). */
  async waitNodeReady(): Promise<void> {
    await this.api.waitReadyNodes('the agent node to be ready', NODE_READY_TIMEOUT_MS, 50, (n) => n > 0);
  }

  /**
   * Agent start → node ready, in ms: a first join (CA fetch, certificate request, mutual-TLS
   * dial) when the agent's data dir is fresh, a reconnect on its saved certificate otherwise.
   */
  async timeAgentToReady(settings: AgentSettings): Promise<number> {
    const startedAt = performance.now();
    await this.startAgent(settings);
    await this.api.waitReadyNodes('the agent node to be ready', NODE_READY_TIMEOUT_MS, 5, (n) => n > 0);
    return performance.now() - startedAt;
  }

  /** Stops the in-process agent and waits until the server no longer counts its node ready. */
  async stopAgent(): Promise<void> {
    this.agent?.stop();
    this.agent = undefined;
    await this.api.waitReadyNodes('the agent node to be gone', NODE_READY_TIMEOUT_MS, 5, (n) => n === 0);
  }

  /** Server, in-process agent and its node ready: what `skiff up` gives. */
  async up(
    serverDataDir: string,
    agent: AgentSettings,
    serverLog?: (message: string) => void,
  ): Promise<{ api: SkiffApi; server: RunningServer }> {
    const started = await this.startServer(serverDataDir, serverLog);
    await this.startAgent(agent);
    await this.waitNodeReady();
    return started;
  }

  get api(): SkiffApi {
    this.#running();
    if (!this.#api) throw new Error('the server is not running');
    return this.#api;
  }

  /** The server's cluster id once it has started (still known after `stop`, for the sweep). */
  get clusterId(): string | undefined {
    return this.server?.clusterId;
  }

  /** What the agent said beyond registering (converge errors...): worth showing after a run. */
  notableAgentLog(): string[] {
    return this.agentLog.filter((line) => !/^(registered as |connected to \S+ over mutual TLS)/.test(line));
  }

  /**
   * Stops the in-process agent, then closes the server once it has seen its agent (in process or
   * not, already stopped) go: the gateway records the disconnect in the store, and a disconnect
   * arriving after `close()` would write to a closed database. Then removes the cluster's
   * netfilter rules. Safe to call again.
   */
  async stop(): Promise<void> {
    this.agent?.stop();
    this.agent = undefined;
    if (!this.server || !this.#serverOpen) return;
    try {
      await waitFor('the server to see the agent disconnect', 5_000, 20, async () => {
        const nodes = await this.api.nodes();
        return nodes.every((node) => node.status !== 'ready') ? true : undefined;
      });
    } catch (error) {
      process.stderr.write(`closing the server: ${errorText(error)}\n`);
    }
    await this.server.close();
    this.#serverOpen = false;
    // The agent leaves its netfilter rules in place when it stops (so traffic survives a restart);
    // a bench's cluster is over.
    await removeRules(chainPrefix(this.server.clusterId)).catch((error: unknown) => {
      process.stderr.write(`removing the netfilter rules: ${errorText(error)}\n`);
    });
  }

  #running(): RunningServer {
    if (!this.server || !this.#serverOpen) throw new Error('the server is not running');
    return this.server;
  }
}

/** The local engine, failing early when an image is missing: the benches never pull. */
export async function localEngine(images: readonly string[]): Promise<Docker> {
  const docker = new Docker({ socketPath: '/var/run/docker.sock' });
  for (const image of images) {
    try {
      await docker.getImage(image).inspect();
    } catch {
      throw new Error(
        `image ${image} is not present locally (build it with \`npm run images\`); this bench never pulls`,
      );
    }
  }
  return docker;
}
