/** A service answers by name on the spec's ports and on those its replicas' images declare. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { portSchema } from '../model/service-spec.ts';
import type { Backend } from '../protocol/messages.ts';
import { withImagePorts } from './endpoints.ts';

const backend = (id: string, ports: Backend['ports']): Backend => ({
  task_id: id,
  node_id: 'n1',
  address: '10.0.0.1',
  container_ip: '172.20.0.2',
  ports,
});

test("the spec's ports first, then the images' other ports once each, in order, kernel path", () => {
  const spec = [portSchema.parse({ container_port: 80, app_protocol: 'http' })];
  const ports = withImagePorts(spec, [
    backend('a', [
      { container_port: 80, host_port: 32001, protocol: 'tcp' },
      { container_port: 9000, host_port: 32002, protocol: 'tcp' },
    ]),
    backend('b', [
      { container_port: 9000, host_port: 32101, protocol: 'tcp' },
      { container_port: 53, host_port: 32102, protocol: 'udp' },
    ]),
  ]);
  assert.deepEqual(ports, [
    spec[0],
    { container_port: 53, protocol: 'udp', mode: 'ingress', app_protocol: 'tcp' },
    { container_port: 9000, protocol: 'tcp', mode: 'ingress', app_protocol: 'tcp' },
  ]);
});

test('no replica serving: only the spec ports', () => {
  assert.deepEqual(withImagePorts([], []), []);
});
