/**
 * What the API handlers need from the server: the store, live cluster state, the controller to
 * run a pass after a change, the event log and the log broker.
 */

import type { Hono } from 'hono';
import type { ServerMetrics } from '../metrics/server-metrics.ts';
import type { AddressPool } from '../model/addressing.ts';

import type { RegistryCredentialStore } from '../registry/credential-store.ts';
import type { DigestResolver } from '../registry/digest-resolver.ts';
import type { SecretStore } from '../secrets/secret-store.ts';
import type { Cluster } from '../server/cluster.ts';
import type { Controller } from '../server/controller.ts';
import type { ImageInventory } from '../server/image-inventory.ts';
import type { ImagePruneBroker } from '../server/image-prune-broker.ts';
import type { LogBroker } from '../server/log-broker.ts';
import type { StatsWindow } from '../stats/stats-window.ts';
import type { Store } from '../store/store.ts';
import type { EventSink } from './event-attribution.ts';
import type { AssetSource } from './static-assets.ts';
import type { StreamHub } from './stream/stream-hub.ts';

export interface ApiDeps {
  readonly store: Store;
  readonly cluster: Cluster;
  readonly controller: Controller;
  /** The event log (routes get one that names the caller, see event-attribution.ts). */
  readonly events: EventSink;
  readonly logs: LogBroker;
  readonly adminToken: string;
  /** The cluster's address pool: how many networks deploys may allocate. */
  readonly addressPool: AddressPool;
  /**
   * Secrets and configs, sealed under the cluster key. Absent (simulations), the app seals them
   * under a key of its own that dies with it.
   */
  readonly secrets?: SecretStore;
  /**
   * Registry credentials (`skiff registry login`), sealed under the cluster key. Absent, the app
   * keeps them under a key of its own (and the controller sends none).
   */
  readonly registries?: RegistryCredentialStore;
  /** Resolves tags to digests at deploy (src/registry); absent, over HTTPS to the registry itself. */
  readonly digestResolver?: DigestResolver;
  readonly now: () => number;
  /** The port the server listens on, which no service may publish (undefined: unknown). */
  readonly serverPort?: () => number | undefined;
  /** Routes mounted under /api behind the same auth (the cluster CA's, src/security). */
  readonly extraApiRoutes?: readonly Hono[];
  /**
   * Signs dashboard sessions (session-cookie.ts `deriveSessionKey` of the cluster key, so every
   * server of the cluster accepts them). Absent, a key of the app's own.
   */
  readonly sessionKey?: Buffer;
  /** Origins besides the server's own whose pages may sign in and open the stream (`https://ops.example`). */
  readonly allowedOrigins?: readonly string[];
  /** The built dashboard (static-assets.ts); absent, `web/dist` of this checkout. */
  readonly assets?: AssetSource;
  /** The live stream's hub (the server makes one and closes it); absent, the app makes its own. */
  readonly streamHub?: StreamHub;
  /** After `DELETE /api/nodes/:id`: the node's certificate is revoked. */
  readonly onNodeRemoved?: (id: string) => void;
  /** The server's metrics: requests are timed and counted, and `GET /metrics` serves them. */
  readonly metrics?: ServerMetrics;
  /** Resource usage the agents report (src/stats); absent, the stats routes answer empty. */
  readonly stats?: StatsWindow;
  /** The nodes' images as their agents report them; absent, `GET /api/images` answers empty. */
  readonly images?: ImageInventory;
  /** Sends `skiff image prune` to agents; absent, a prune says this server does not. */
  readonly imagePrunes?: ImagePruneBroker;
}

/** The deps as the routes see them: a secret store, registry credentials and a resolver always there. */
export type RouteDeps = ApiDeps & {
  readonly secrets: SecretStore;
  readonly registries: RegistryCredentialStore;
  readonly digestResolver: DigestResolver;
};
