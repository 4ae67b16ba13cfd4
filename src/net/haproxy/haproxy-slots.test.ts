import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Backend } from '../proxy/balancer.ts';
import { MIN_SLOTS, planSlots, runtimeLines, slotsFor, UNUSED_SLOT } from './haproxy-slots.ts';

const a: Backend = { id: 'a', host: '10.0.0.1', port: 8080 };
const b: Backend = { id: 'b', host: '10.0.0.2', port: 8080 };
const c: Backend = { id: 'c', host: '10.0.0.3', port: 8080 };
const d: Backend = { id: 'd', host: '10.0.0.4', port: 8080 };

test('slot counts: at least MIN_SLOTS, doubling, always room for one more replica', () => {
  assert.equal(slotsFor(0), MIN_SLOTS);
  assert.equal(slotsFor(3), 4);
  assert.equal(slotsFor(4), 8);
  assert.equal(slotsFor(9), 16);
});

test('a first table fills slots in order and leaves the rest unused', () => {
  const plan = planSlots(undefined, [a, b]);
  assert.equal(plan.grown, false);
  assert.deepEqual(
    plan.table.slots.map((s) => [s.holder, s.host, s.port]),
    [
      ['a@10.0.0.1:8080', '10.0.0.1', 8080],
      ['b@10.0.0.2:8080', '10.0.0.2', 8080],
      [null, UNUSED_SLOT.host, UNUSED_SLOT.port],
      [null, UNUSED_SLOT.host, UNUSED_SLOT.port],
    ],
  );
});

test('a replica leaving is set to maint, one joining gets the slot free the longest', () => {
  const first = planSlots(undefined, [a, b]).table;
  const withoutA = planSlots(first, [b]);
  assert.deepEqual(runtimeLines('be', withoutA.commands), ['set server be/s0 state maint']);
  // c goes to s2 (never used), not s0 that a just left.
  const withC = planSlots(withoutA.table, [b, c]);
  assert.deepEqual(runtimeLines('be', withC.commands), [
    'set server be/s2 addr 10.0.0.3 port 8080',
    'set server be/s2 state ready',
  ]);
  // The same table again changes nothing.
  assert.deepEqual(planSlots(withC.table, [b, c]).commands, []);
});

test('a replica back at its old address is set ready in its old slot, with no address change', () => {
  const first = planSlots(undefined, [a, b]).table;
  const gone = planSlots(first, [b]).table;
  const back = planSlots(gone, [a, b]);
  assert.deepEqual(runtimeLines('be', back.commands), ['set server be/s0 state ready']);
});

test('the oldest free slot is reused once the never-used ones are taken', () => {
  let table = planSlots(undefined, [a, b, c]).table;
  table = planSlots(table, [b, c]).table; // a leaves s0 (generation 2)
  table = planSlots(table, [c]).table; // b leaves s1 (generation 3)
  const plan = planSlots(table, [c, d, { id: 'e', host: '10.0.0.5', port: 8080 }]);
  assert.deepEqual(runtimeLines('be', plan.commands), [
    'set server be/s3 addr 10.0.0.4 port 8080',
    'set server be/s3 state ready',
    'set server be/s0 addr 10.0.0.5 port 8080',
    'set server be/s0 state ready',
  ]);
});

test('more replicas than slots: the table doubles and asks for a reload instead of commands', () => {
  const first = planSlots(undefined, [a]).table;
  const many = [a, b, c, d, { id: 'e', host: '10.0.0.5', port: 8080 }];
  const plan = planSlots(first, many);
  assert.equal(plan.grown, true);
  assert.deepEqual(plan.commands, []);
  assert.equal(plan.table.slots.length, 8);
  assert.equal(plan.table.slots[0]?.holder, 'a@10.0.0.1:8080', 'a keeps its slot');
  assert.equal(plan.table.slots.filter((s) => s.holder !== null).length, 5);
});

test('the same replica id on a new port is a new backend: a new slot, the old one to maint', () => {
  const first = planSlots(undefined, [a]).table;
  const moved = planSlots(first, [{ ...a, port: 9090 }]);
  assert.deepEqual(runtimeLines('be', moved.commands), [
    'set server be/s0 state maint',
    'set server be/s1 addr 10.0.0.1 port 9090',
    'set server be/s1 state ready',
  ]);
});
