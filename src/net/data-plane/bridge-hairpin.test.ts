import assert from 'node:assert/strict';
import { test } from 'node:test';
import { portsWithoutHairpin } from './bridge-hairpin.ts';

test('the bridge ports whose hairpin mode is off', () => {
  const output = [
    '12: veth1a2b@if11: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue master skiff0 state UP mode DEFAULT group default \\    link/ether 6e:1a brd ff:ff:ff:ff:ff:ff link-netnsid 1 promiscuity 1 \\    veth \\    bridge_slave state forwarding priority 32 cost 2 hairpin off guard off root_block off',
    '14: veth3c4d@if13: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue master skiff0 state UP \\    bridge_slave state forwarding priority 32 cost 2 hairpin on guard off',
    '',
  ].join('\n');
  assert.deepEqual(portsWithoutHairpin(output), ['veth1a2b']);
  assert.deepEqual(portsWithoutHairpin(''), []);
});
