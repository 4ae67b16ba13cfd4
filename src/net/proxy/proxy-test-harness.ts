/**
 * One route's proxy under test, for the HTTP and TCP proxy tests: a route on 127.0.0.1:0 for a
 * given key and mode, a ServiceProxy started on it, that route's stats, and the cleanups every
 * test registers, run in reverse after the file's tests.
 */
import assert from 'node:assert/strict';
import { after } from 'node:test';
import type { Backend } from './balancer.ts';
import type { ProxyRoute } from './proxy-route.ts';
import { ServiceProxy, type ServiceProxyOptions } from './service-proxy.ts';

export interface ProxyHarness {
  /** Run after the file's tests, last registered first. */
  readonly cleanups: (() => Promise<void>)[];
  route(backends: readonly Backend[], extra?: Partial<ProxyRoute>): ProxyRoute;
  startProxy(
    first: ProxyRoute,
    options?: ServiceProxyOptions,
  ): Promise<{ proxy: ServiceProxy; port: number }>;
  routeStats(proxy: ServiceProxy): ReturnType<ServiceProxy['stats']>[number];
}

export function proxyHarness(key: string, mode: ProxyRoute['mode']): ProxyHarness {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  return {
    cleanups,
    route: (backends, extra = {}) => ({
      key,
      mode,
      listen: [{ host: '127.0.0.1', port: 0 }],
      backends,
      strategy: 'round-robin',
      ...extra,
    }),
    async startProxy(first, options = {}) {
      const proxy = new ServiceProxy({ stopGraceMs: 100, ...options });
      cleanups.push(() => proxy.stop());
      await proxy.setRoutes([first]);
      const port = proxy.boundPort(key, '127.0.0.1');
      assert.ok(port !== undefined && port > 0);
      return { proxy, port };
    },
    routeStats(proxy) {
      const stats = proxy.stats().find((s) => s.key === key);
      assert.ok(stats !== undefined);
      return stats;
    },
  };
}
