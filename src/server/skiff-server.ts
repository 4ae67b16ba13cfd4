/**
 * The control plane's composition root: the store (DIR/skiff.db, or etcd with `store`), tokens,
 * the cluster CA, the
 * cluster, the controller, the agent gateway and the HTTP API on one port (TLS, and plain HTTP
 * from loopback; src/security/README.md).
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer, type Http2Bindings, type HttpBindings } from '@hono/node-server';
import type { Etcd3 } from 'etcd3';
import { createApp } from '../api/app.ts';
import { attachExecUpgrades, isExecUpgrade } from '../api/exec-upgrade.ts';
import { deriveSessionKey } from '../api/session-cookie.ts';
import type { AssetSource } from '../api/static-assets.ts';
import { StreamHub } from '../api/stream/stream-hub.ts';
import { streamSource } from '../api/stream/stream-source.ts';
import { attachStreamUpgrades, isStreamUpgrade } from '../api/stream/stream-upgrade.ts';
import { DASHBOARD_ASSET_PREFIX, seaAssets } from '../build/embedded-assets.ts';
import { CounterInterner } from '../metrics/agent-counters.ts';
import { AgentSnapshots } from '../metrics/agent-snapshots.ts';
import { readClusterState, taskCreatedAt } from '../metrics/cluster-state.ts';
import type { ListenAddress } from '../metrics/metrics-listener.ts';
import { startMetricsListener } from '../metrics/metrics-listener.ts';
import { ServerMetrics } from '../metrics/server-metrics.ts';
import { statsUsage } from '../metrics/stats-usage.ts';
import type { AddressPool } from '../model/addressing.ts';
import { RegistryCredentialStore } from '../registry/credential-store.ts';
import { ensureClusterKey } from '../secrets/cluster-key.ts';
import { SecretStore } from '../secrets/secret-store.ts';
import { agentRoutes, clientIdentity } from '../security/agent-routes.ts';
import { ClusterPki, DEFAULT_CERT_LIFETIME_MS } from '../security/cluster-pki.ts';
import { createFirstByteListener, type FirstByteListener } from '../security/first-byte-listener.ts';
import { ensurePrivateDir, restrictFile } from '../security/private-files.ts';
import { securityApiRoutes } from '../security/security-api-routes.ts';
import { DEFAULT_WINDOW_CAPACITY, LATEST_SAMPLES, StatsWindow } from '../stats/stats-window.ts';
import type { EtcdStore } from '../store/etcd/etcd-store.ts';
import type { Store } from '../store/store.ts';
import type { StoreLocation } from '../store/store-url.ts';
import { describeLocation, openStore, sqliteLocation } from '../store/store-url.ts';
import type { AgentGateway } from './agent-gateway.ts';
import { attachAgentGateway, isAgentUpgrade, readAgentMetricsText } from './agent-gateway.ts';
import { Autoscaler } from './autoscaler.ts';
import { Cluster } from './cluster.ts';
import type { PassSteps } from './controller.ts';
import { Controller } from './controller.ts';
import { EventLog } from './event-log.ts';
import { ExecBroker } from './exec-broker.ts';
import { ImageInventory } from './image-inventory.ts';
import { ImagePruneBroker } from './image-prune-broker.ts';
import { FORWARDED_HEADER, forwardDecision } from './leadership/forward-decision.ts';
import { LeaderDuties } from './leadership/leader-duties.ts';
import { forwardToLeader, forwardUpgrade } from './leadership/leader-forward.ts';
import { LEADING_PATH } from './leadership/leader-probe.ts';
import type { Leadership } from './leadership/leadership.ts';
import { SoleLeadership } from './leadership/leadership.ts';
import { serverIdentity } from './leadership/server-identity.ts';
import { serversRoutes } from './leadership/servers-routes.ts';
import { LogBroker } from './log-broker.ts';
import type { LivenessSettings } from './node-liveness.ts';
import { DEFAULT_LIVENESS } from './node-liveness.ts';
import { NodeProbes } from './node-probes.ts';
import type { PassPlan } from './plan-pass.ts';
import type { PoolDecision } from './stored-pool.ts';
import { decidePool, POOL_META_KEY } from './stored-pool.ts';
import type { Tokens } from './tokens.ts';
import { ensureTokens } from './tokens.ts';
import { recordVolumes } from './volume-registry.ts';

export interface ServerOptions {
  /** Key files (CA, cluster key, tokens) and, without `store`, the SQLite store. */
  readonly dataDir: string;
  /** Where the cluster state lives (default: SQLite in the data dir). */
  readonly store?: StoreLocation;
  readonly port: number;
  readonly listen: string;
  readonly presetAdminToken?: string;
  /** `--address-pool`: taken at the cluster's first start; a later start must match or omit it. */
  readonly addressPool?: AddressPool;
  /** Extra names for the serving certificate (`--san`). */
  readonly sans?: readonly string[];
  /** Lifetime of serving and node certificates (renewed at two thirds). */
  readonly certLifetimeMs?: number;
  /** The operator's own serving certificate (`--tls-cert`, `--tls-key`), instead of ours. */
  readonly operatorCert?: { readonly certPath: string; readonly keyPath: string };
  readonly heartbeatIntervalMs?: number;
  /** The built dashboard (src/api/static-assets.ts); absent, `web/dist` of this checkout. */
  readonly assets?: AssetSource;
  /** Origins besides the server's own whose pages may use the dashboard's session and stream. */
  readonly allowedOrigins?: readonly string[];
  readonly liveness?: LivenessSettings;
  readonly log: (message: string) => void;
  /** `--metrics-listen`: GET /metrics without a token on this address (TLS unless loopback). */
  readonly metricsListen?: ListenAddress;
  /** `--advertise`: the URL other hosts reach this server at (HA: where agents are redirected). */
  readonly advertiseUrl?: string;
  /** HA: the leader lease's TTL (ms; etcd's minimum, 2 s, by default). */
  readonly leaseTtlMs?: number;
  /**
   * Told how long each controller pass took (ms), by step, and what it decided (told before its
   * duration): the control-plane benchmark's hooks.
   */
  readonly onControllerPass?: (durationMs: number, steps: PassSteps) => void;
  readonly onControllerPlan?: (plan: PassPlan) => void;
}

export interface RunningServer {
  /** Base URL clients on this machine can use. */
  readonly url: string;
  readonly tokens: Tokens;
  readonly clusterId: string;
  readonly addressPool: AddressPool;
  /** The cluster CA and certificates. */
  readonly pki: ClusterPki;
  /** Where `--metrics-listen` serves the metrics, when it was given. */
  readonly metricsUrl: string | undefined;
  /** The server's metrics (`setLeader` for a control plane with standbys). */
  readonly metrics: ServerMetrics;
  /** Resource usage the agents report, in memory (src/stats/README.md). */
  readonly stats: StatsWindow;
  /** The cluster state (for the HA layer: the write guard, the etcd client). */
  readonly store: Store;
  readonly controller: Controller;
  /** The node sessions (benchmarks read what the agents' connections hold). */
  readonly cluster: Cluster;
  close(): Promise<void>;
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  // 0700 and 0600 whatever existed before: the store holds every service's environment.
  ensurePrivateDir(options.dataDir);
  const location = options.store ?? sqliteLocation(options.dataDir);
  const store = await openStore(location, options.log);
  if (location.kind === 'sqlite')
    for (const suffix of ['', '-wal', '-shm']) restrictFile(`${location.path}${suffix}`);
  const storedClusterId = store.getMeta('cluster_id');
  let decision: PoolDecision;
  try {
    decision = decidePool({
      stored: store.getMeta(POOL_META_KEY),
      clusterExists: storedClusterId !== undefined,
      given: options.addressPool,
      dataDir: location.kind === 'sqlite' ? options.dataDir : describeLocation(location),
    });
  } catch (error) {
    await store.close();
    throw error;
  }
  const addressPool = decision.pool;
  const clusterId = storedClusterId ?? randomUUID();
  // The pool is stored with the cluster id, at once: a cluster never exists without its pool.
  store.transaction(() => {
    if (decision.store) store.setMeta(POOL_META_KEY, addressPool.cidr);
    if (storedClusterId === undefined) store.setMeta('cluster_id', clusterId);
  });
  try {
    // On etcd: a store that cannot take writes is said at once, not at the first deploy.
    await store.durable();
  } catch (error) {
    await store.close();
    throw error;
  }
  const now = Date.now;
  const clusterKey = ensureClusterKey(options.dataDir);
  const pki = await ClusterPki.open({
    dataDir: options.dataDir,
    clusterId,
    store,
    clusterKey,
    listen: options.listen,
    sans: options.sans ?? [],
    certLifetimeMs: options.certLifetimeMs ?? DEFAULT_CERT_LIFETIME_MS,
    ...(options.operatorCert ? { operatorCert: options.operatorCert } : {}),
    now,
    log: options.log,
  });
  const adminTokens = ensureTokens(options.dataDir, options.presetAdminToken);
  // The join token is the CA's (it pins the CA's digest); rotations change it while running.
  await store.durable();
  const tokens: Tokens = {
    admin: adminTokens.admin,
    adminPath: adminTokens.adminPath,
    joinPath: pki.joinTokenPath,
    get join() {
      return pki.joinToken;
    },
  };
  const cluster = new Cluster(store, now());
  const events = new EventLog(store);
  const liveness = options.liveness ?? DEFAULT_LIVENESS;
  // A third of the timeout: one lost heartbeat is not yet silence. Larger clusters beat slower
  // (node-liveness.ts), with timeouts in proportion.
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? Math.round(liveness.heartbeatTimeoutMs / 3);
  const secrets = new SecretStore(store, clusterKey);
  const registries = new RegistryCredentialStore(store, clusterKey);
  const metrics = new ServerMetrics();
  // Five minutes of samples for the replicas the autoscaler reads; the latest two for others.
  const stats = new StatsWindow({
    replicaCapacity: (service) =>
      store.getService(service)?.spec.autoscale ? DEFAULT_WINDOW_CAPACITY : LATEST_SAMPLES,
  });
  // Agents' counter entries, one object for those equal between nodes (agent-counters.ts).
  const counterInterner = new CounterInterner();
  const agentSnapshots = new AgentSnapshots({
    read: (text) => readAgentMetricsText(text, counterInterner),
    onRead: (nodeId, snapshot) => metrics.agentSnapshotRecorded(nodeId, snapshot),
    log: options.log,
  });
  const images = new ImageInventory();
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
    registries,
    images,
    onPass: (durationMs, steps) => {
      metrics.observePassDuration(durationMs);
      options.onControllerPass?.(durationMs, steps);
    },
    onPlan: (plan) => {
      options.onControllerPlan?.(plan);
      metrics.observePlan(plan, taskCreatedAt(store), now());
      // A node the pass found silent (heartbeats stopped, link still open): ask others about it.
      for (const change of plan.statusChanges) if (change.to === 'unreachable') probes.start(change.id);
    },
  });
  metrics.setSources({
    cluster: () => readClusterState({ store, cluster, specOf: (s, r) => controller.specOf(s, r), now }),
    agents: () => agentSnapshots.current((id) => cluster.get(id) !== undefined),
    usage: statsUsage(stats, now),
  });
  const logs = new LogBroker(cluster);
  const execs = new ExecBroker(cluster);
  const probes = new NodeProbes({
    cluster,
    store,
    events,
    now,
    onDown: () => controller.trigger(),
    log: options.log,
  });
  const imagePrunes = new ImagePruneBroker(cluster);
  // HA: who leads (set once listening); a follower forwards what needs the leader and does not scale.
  let leadership: Leadership | undefined;
  const autoscaler = new Autoscaler({
    store,
    stats,
    events,
    now,
    trigger: () => controller.trigger(),
    // Only the leader scales; until leadership is known (before listening), nobody does.
    isLeader: () => leadership?.leading === true,
    log: options.log,
  });
  const streamHub = new StreamHub({
    source: streamSource({ store, cluster, controller, events, stats }),
    now,
  });
  let server: Server | undefined;
  // The port is the first-byte listener's (the HTTP server itself never listens).
  let listener: FirstByteListener | undefined;
  const serverPort = () => {
    const address = listener?.net.address();
    return typeof address === 'object' && address !== null ? address.port : undefined;
  };
  // The single binary serves the dashboard it embeds; a checkout, its web/dist (the app's default).
  const assets = options.assets ?? seaAssets(DASHBOARD_ASSET_PREFIX);
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
      extraApiRoutes: [
        securityApiRoutes({ pki, events, now }),
        serversRoutes({ store, leadership: () => leadership }),
      ],
      onNodeRemoved: (name) => {
        pki.revokeNode(name);
        stats.forgetNode(name);
        images.forget(name);
      },
      images,
      imagePrunes,
      secrets,
      registries,
      metrics,
      stats,
      sessionKey: deriveSessionKey(clusterKey),
      allowedOrigins: options.allowedOrigins ?? [],
      streamHub,
      ...(assets && { assets }),
    },
    options.log,
  );
  const agentApp = agentRoutes(pki, options.log);
  const agentPaths = new Set(['/ca.crt', '/agent/v1/join', '/agent/v1/renew']);

  const serve = (request: Request, env: HttpBindings | Http2Bindings) => {
    const pathname = new URL(request.url).pathname;
    if (agentPaths.has(pathname)) return agentApp.fetch(request, env as HttpBindings);
    // Another server asking whether this one leads (leader-probe.ts): answered by this server itself.
    if (pathname === LEADING_PATH && request.method === 'GET')
      return Response.json(leadership?.leadingAnswer() ?? { leading: false, lease: null });
    const decision = forwardDecision({
      pathname,
      leading: leadership?.leading ?? true,
      leaderUrl: leadership?.leader?.url,
      forwarded: request.headers.has(FORWARDED_HEADER),
    });
    if (decision.kind === 'forward')
      return forwardToLeader(request, {
        leaderUrl: decision.leaderUrl,
        caPem: pki.caBundlePem,
        selfId: leadership?.self.id ?? '',
      });
    if (decision.kind === 'unavailable') return Response.json({ error: decision.reason }, { status: 503 });
    return app.fetch(request, env);
  };
  server = createAdaptorServer({
    // An HTTP/1.1 server: its bindings are always node:http's.
    fetch: serve,
    // Only the agents', exec's and the dashboard stream's WebSockets go to upgrade handlers; other
    // `Upgrade` requests are plain HTTP.
    serverOptions: {
      shouldUpgradeCallback: (request) =>
        isAgentUpgrade(request) || isExecUpgrade(request) || isStreamUpgrade(request),
    },
  }) as Server;
  listener = createFirstByteListener(server, pki.tlsOptions);
  const tlsListener = listener;
  pki.onRenewed(() => tlsListener.setSecureContext(pki.tlsOptions));
  const gateway: AgentGateway = attachAgentGateway(server, {
    admit: (unreachable) => leadership?.admission(unreachable) ?? { kind: 'hold' },
    onHold: (unreachable) => leadership?.suspect(unreachable.url),
    authenticate: (request) => {
      const identity = clientIdentity(request);
      if (!identity || !pki.allowedSerials(identity.name).includes(identity.serial)) return undefined;
      return { nodeName: identity.name };
    },
    clusterId,
    addressPool,
    heartbeatIntervalMs,
    cluster,
    controller,
    events,
    logs,
    stats,
    images,
    imagePrunes,
    execs,
    probes,
    now,
    log: options.log,
    onAgentMetricsText: (nodeId, bytes) => agentSnapshots.recordText(nodeId, bytes),
    onVolumes: (nodeId, volumes) => recordVolumes(store, nodeId, volumes),
  });
  // A follower passes exec's WebSocket on to the leader, like every request that needs an agent.
  const execUpgrades = attachExecUpgrades(
    server,
    (request, env) => app.fetch(request, env),
    execs,
    (incoming, socket, head) => {
      const decision = forwardDecision({
        pathname: new URL(incoming.url ?? '/', 'http://skiff').pathname,
        leading: leadership?.leading ?? true,
        leaderUrl: leadership?.leader?.url,
        forwarded: incoming.headers[FORWARDED_HEADER] !== undefined,
      });
      if (decision.kind === 'local') return false;
      if (decision.kind === 'forward')
        forwardUpgrade(incoming, socket, head, {
          leaderUrl: decision.leaderUrl,
          caPem: pki.caBundlePem,
          selfId: leadership?.self.id ?? '',
        });
      else {
        const body = JSON.stringify({ error: decision.reason });
        socket.end(
          `HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        );
      }
      return true;
    },
  );
  const streamUpgrades = attachStreamUpgrades(server, (request, env) => app.fetch(request, env), streamHub);
  await new Promise<void>((resolve, reject) => {
    listener.net.once('error', reject);
    listener.net.listen(options.port, options.listen, () => {
      listener.net.off('error', reject);
      resolve();
    });
  });
  const metricsListener = options.metricsListen
    ? await startMetricsListener({
        address: options.metricsListen,
        metrics,
        tls: () => pki.tlsOptions,
        onRenewed: (listener) => pki.onRenewed(listener),
        log: options.log,
      }).catch((error: unknown) => {
        listener.net.close();
        store.close();
        throw error;
      })
    : undefined;
  const port = (listener.net.address() as AddressInfo).port;
  const self = serverIdentity({
    listen: options.listen,
    port,
    advertiseUrl: options.advertiseUrl,
    startedAt: now(),
  });
  const etcd = location.kind === 'etcd' ? etcdHandle(store as EtcdStore) : undefined;
  if (etcd) {
    // Imported here, as the store was (store-url.ts): a SQLite server loads no etcd client.
    const { EtcdLeadership, leaderKey } = await import('./leadership/etcd-leadership.ts');
    // Only the leader decides: the controller waits, paused, for this server to win.
    controller.pause();
    const duties = new LeaderDuties({
      store,
      cluster,
      controller,
      events,
      logs,
      gateway: () => gateway,
      guardKey: leaderKey(etcd.prefix),
      selfId: self.id,
      now,
      log: options.log,
    });
    // A server of an HA control plane stands by until the election says it leads.
    metrics.setLeader(false);
    leadership = await EtcdLeadership.start({
      client: etcd.client,
      prefix: etcd.prefix,
      self,
      ...(options.leaseTtlMs ? { leaseTtlMs: options.leaseTtlMs } : {}),
      now,
      log: options.log,
      onLeading: (since, leaseId) => {
        metrics.setLeader(true);
        duties.start(since, leaseId);
      },
      onFollowing: (reason) => {
        metrics.setLeader(false);
        duties.stop(reason);
      },
      onLeader: (leader) => duties.leaderChanged(leader),
      caPem: () => pki.caBundlePem,
      onLeaderConfirmed: () => gateway.reconsider(),
    });
  } else {
    leadership = new SoleLeadership(self);
    gateway.reconsider();
  }
  // Another server's write (a deploy it took) wakes this one's controller, if it leads.
  store.onChange(() => {
    controller.forgetSpecs();
    controller.trigger();
  });
  controller.start();
  autoscaler.start();
  pki.startRenewal();
  const host = options.listen === '0.0.0.0' || options.listen === '::' ? '127.0.0.1' : options.listen;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    tokens,
    clusterId,
    addressPool,
    pki,
    metricsUrl: metricsListener?.url,
    metrics,
    stats,
    store,
    controller,
    cluster,
    async close() {
      await leadership?.close();
      controller.stop();
      await metricsListener?.close();
      pki.stop();
      gateway.close();
      imagePrunes.close();
      execUpgrades.close();
      autoscaler.stop();
      streamHub.close();
      streamUpgrades.close();
      await new Promise<void>((resolve) => {
        listener.net.close(() => resolve());
        server.closeAllConnections();
      });
      await store.close();
    },
  };
}

/** The etcd client and key prefix of an etcd store (HA). */
function etcdHandle(store: EtcdStore): { readonly client: Etcd3; readonly prefix: string } {
  return { client: store.client, prefix: store.prefix };
}
