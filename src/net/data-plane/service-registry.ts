/**
 * The DNS server's view of the services, from the latest endpoints: a name resolves only for
 * clients on a network the service is on (isolation), to the service's VIP on that network.
 */
import type { AddressPool } from '../../model/addressing.ts';
import { inNetwork, serviceVip } from '../../model/addressing.ts';
import type { ServiceEndpoints } from '../../protocol/messages.ts';
import type { ServiceRegistry } from '../dns/dns-answer.ts';

export function serviceRegistry(services: readonly ServiceEndpoints[], pool: AddressPool): ServiceRegistry {
  const byName = new Map(services.map((s) => [s.name, s]));
  const sharedNetwork = (service: ServiceEndpoints | undefined, client: string) =>
    service?.networks.find((n) => inNetwork(pool, client, n.index));
  return {
    vipFor(name, client) {
      const service = byName.get(name);
      const network = sharedNetwork(service, client);
      return service && network ? serviceVip(pool, network.index, service.vip_index) : undefined;
    },
    endpointsFor(name, port, client) {
      const service = byName.get(name);
      if (!service || !sharedNetwork(service, client)) return undefined;
      return service.backends.flatMap((b) =>
        b.ports
          .filter((p) => p.container_port === port && p.protocol === 'tcp')
          .map((p) => ({ target: b.address, port: p.host_port })),
      );
    },
  };
}
