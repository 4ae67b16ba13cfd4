/**
 * The control plane's composition root: the store in DIR/skiff.db, tokens, the cluster, the
 * controller, the agent gateway and the HTTP API on one port.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createAdaptorServer } from '@hono/node-server';
import { createApp } from '../api/app.ts';
import type { AddressPool } from '../model/addressing.ts';
import { ensureClusterKey } from '../secrets/cluster-key.ts';
import { SecretStore } from '../secrets/secret-store.ts';
import { Store } from '../store/store.ts';
import { attachAgentGateway, isAgentUpgrade } from './agent-gateway.ts';
import { Cluster } from './cluster.ts';
import { Controller } from './controller.ts';
import { EventLog } from './event-log.ts';
import { LogBroker } from './log-broker.ts';
import type { LivenessSettings } from './node-liveness.ts';
import { DEFAULT_LIVENESS } from './node-liveness.ts';
import type { PoolDecision } from './stored-pool.ts';
import { decidePool, POOL_META_KEY } from './stored-pool.ts';
import type { Tokens } from './tokens.ts';
import { ensureTokens } from './tokens.ts';

export interface ServerOptions {
  readonly dataDir: string;
  readonly port: number;
  readonly listen: string;
  readonly presetAdminToken?: string;
  /** `--address-pool`: taken at the cluster's first start; a later start must match or omit it. */
  readonly addressPool?: AddressPool;
  readonly heartbeatIntervalMs?: number;
  readonly liveness?: LivenessSettings;
  readonly log: (message: string) => void;
  /** Told how long each controller pass took (ms): the control-plane benchmark's hook. */
  readonly onControllerPass?: (durationMs: number) => void;
}

export interface RunningServer {
  /** Base URL clients on this machine can use. */
  readonly url: string;
  readonly tokens: Tokens;
  readonly clusterId: string;
  readonly addressPool: AddressPool;
  close(): Promise<void>;
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const store = new Store(join(options.dataDir, 'skiff.db'));
  const storedClusterId = store.getMeta('cluster_id');
  let decision: PoolDecision;
  try {
    decision = decidePool({
      stored: store.getMeta(POOL_META_KEY),
      clusterExists: storedClusterId !== undefined,
      given: options.addressPool,
      dataDir: options.dataDir,
    });
  } catch (error) {
    store.close();
    throw error;
  }
  const addressPool = decision.pool;
  const clusterId = storedClusterId ?? randomUUID();
  // The pool is stored with the cluster id, at once: a cluster never exists without its pool.
  store.transaction(() => {
    if (decision.store) store.setMeta(POOL_META_KEY, addressPool.cidr);
    if (storedClusterId === undefined) store.setMeta('cluster_id', clusterId);
  });
  const tokens = ensureTokens(options.dataDir, options.presetAdminToken);
  const now = Date.now;
  const cluster = new Cluster(store, now());
  const events = new EventLog(store);
  const liveness = options.liveness ?? DEFAULT_LIVENESS;
  // A third of the timeout: one lost heartbeat is not yet silence. Larger clusters beat slower
  // (node-liveness.ts), with timeouts in proportion.
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? Math.round(liveness.heartbeatTimeoutMs / 3);
  const secrets = new SecretStore(store, ensureClusterKey(options.dataDir));
  const controller = new Controller({
    store,
    cluster,
    events,
    liveness,
    addressPool,
    heartbeatIntervalMs,
    now,
    log: options.log,
    secrets,
    onPass: options.onControllerPass,
  });
  const logs = new LogBroker(cluster);
  let server: Server | undefined;
  const serverPort = () => {
    const address = server?.address();
    return typeof address === 'object' && address !== null ? address.port : undefined;
  };
  const app = createApp(
    {
      store,
      cluster,
      controller,
      events,
      logs,
      adminToken: tokens.admin,
      addressPool,
      now,
      serverPort,
      secrets,
    },
    options.log,
  );

  server = createAdaptorServer({
    fetch: app.fetch,
    // Only the agents' WebSocket goes to the upgrade handler; other `Upgrade` requests are plain HTTP.
    serverOptions: { shouldUpgradeCallback: isAgentUpgrade },
  }) as Server;
  const gateway = attachAgentGateway(server, {
    joinToken: tokens.join,
    clusterId,
    addressPool,
    heartbeatIntervalMs,
    cluster,
    controller,
    events,
    logs,
    now,
    log: options.log,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.listen, () => {
      server.off('error', reject);
      resolve();
    });
  });
  controller.start();
  const port = (server.address() as AddressInfo).port;
  const host = options.listen === '0.0.0.0' || options.listen === '::' ? '127.0.0.1' : options.listen;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    tokens,
    clusterId,
    addressPool,
    async close() {
      controller.stop();
      gateway.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      store.close();
    },
  };
}
