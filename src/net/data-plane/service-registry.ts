/**
 * The DNS server's view of the services, from the latest endpoints: a name (the service's own,
 * or one of its aliases) resolves only for clients on a network the service is on (isolation),
 * to the service's VIP on that network.
 */
import type { AddressPool } from '../../model/addressing.ts';
import { inNetwork, serviceVip } from '../../model/addressing.ts';
import type { ServiceEndpoints } from '../../protocol/messages.ts';
import type { ServiceRegistry } from '../dns/dns-answer.ts';

export function serviceRegistry(services: readonly ServiceEndpoints[], pool: AddressPool): ServiceRegistry {
  const byName = new Map(services.map((s) => [s.name, s]));
  // An alias may be taken by several services on networks of their own (`web` in two stacks):
  // the client's network tells them apart. A service's own name wins over another's alias.
  const byAlias = new Map<string, ServiceEndpoints[]>();
  for (const service of services)
    for (const alias of service.aliases ?? []) byAlias.set(alias, [...(byAlias.get(alias) ?? []), service]);
  const sharedNetwork = (service: ServiceEndpoints | undefined, client: string) =>
    service?.networks.find((n) => inNetwork(pool, client, n.index));
  const resolve = (name: string, client: string) => {
    const own = byName.get(name);
    if (own && sharedNetwork(own, client)) return own;
    return byAlias.get(name)?.find((service) => sharedNetwork(service, client));
  };
  return {
    vipFor(name, client) {
      const service = resolve(name, client);
      const network = sharedNetwork(service, client);
      return service && network ? serviceVip(pool, network.index, service.vip_index) : undefined;
    },
    endpointsFor(name, port, client) {
      const service = resolve(name, client);
      if (!service || !sharedNetwork(service, client)) return undefined;
      return service.backends.flatMap((b) =>
        b.ports
          .filter((p) => p.container_port === port && p.protocol === 'tcp')
          .map((p) => ({ target: b.address, port: p.host_port })),
      );
    },
  };
}
