import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseProbers, probePorts, probeVerdict } from './node-probe-plan.ts';

const node = (
  id: string,
  extra: Partial<{ ready: boolean; connected: boolean; canProbe: boolean }> = {},
) => ({
  id,
  ready: true,
  connected: true,
  canProbe: true,
  ...extra,
});

test('probers: two other ready, connected, able nodes, starting after the target', () => {
  const nodes = [
    node('a'),
    node('b'),
    node('c'),
    node('d', { canProbe: false }),
    node('e', { ready: false }),
  ];
  assert.deepEqual(chooseProbers(nodes, 'b'), ['c', 'a']);
  assert.deepEqual(chooseProbers(nodes, 'c'), ['a', 'b']);
  assert.deepEqual(chooseProbers([node('a'), node('b', { connected: false })], 'c'), ['a']);
  assert.deepEqual(chooseProbers([node('a')], 'a'), []);
});

test('ports: TCP published ports, one per replica first, deduplicated, at most eight', () => {
  assert.deepEqual(
    probePorts([
      {
        taskId: 't2',
        ports: [
          { host_port: 32002, protocol: 'tcp' },
          { host_port: 40000, protocol: 'tcp' },
        ],
      },
      {
        taskId: 't1',
        ports: [
          { host_port: 32001, protocol: 'tcp' },
          { host_port: 53, protocol: 'udp' },
        ],
      },
      { taskId: 't3', ports: [] },
    ]),
    [32001, 32002, 40000],
  );
  const many = Array.from({ length: 20 }, (_, i) => ({
    taskId: `t${String(i).padStart(2, '0')}`,
    ports: [{ host_port: 30000 + i, protocol: 'tcp' }],
  }));
  assert.equal(probePorts(many).length, 8);
  assert.deepEqual(probePorts([{ taskId: 't', ports: [{ host_port: 0, protocol: 'tcp' }] }]), []);
});

test('verdict: down only when some answered and none connected; any connection keeps the node', () => {
  assert.equal(probeVerdict([false, false]), 'down');
  assert.equal(probeVerdict([false]), 'down');
  assert.equal(probeVerdict([false, true]), 'reachable');
  assert.equal(probeVerdict([]), 'unknown');
});
