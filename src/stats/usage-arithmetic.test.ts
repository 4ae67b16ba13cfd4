import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cpuPercentOfHost, cpuPercentOfOneCore, percentOf, ratePerSecond } from './usage-arithmetic.ts';

test('CPU % is CPU seconds per wall second of one core: a busy core is 100, two are 200', () => {
  assert.equal(cpuPercentOfOneCore({ atMs: 0, value: 10 }, { atMs: 5000, value: 15 }), 100);
  assert.equal(cpuPercentOfOneCore({ atMs: 0, value: 10 }, { atMs: 5000, value: 20 }), 200);
  assert.equal(cpuPercentOfOneCore({ atMs: 1000, value: 3 }, { atMs: 3000, value: 3.5 }), 25);
});

test('no CPU % across a reset counter or without time passing', () => {
  assert.equal(cpuPercentOfOneCore({ atMs: 0, value: 10 }, { atMs: 5000, value: 2 }), null);
  assert.equal(cpuPercentOfOneCore({ atMs: 5000, value: 1 }, { atMs: 5000, value: 2 }), null);
  assert.equal(cpuPercentOfOneCore({ atMs: 6000, value: 1 }, { atMs: 5000, value: 2 }), null);
});

test("a host's CPU % is of all its cores, at most 100", () => {
  assert.equal(cpuPercentOfHost({ atMs: 0, value: 0 }, { atMs: 1000, value: 1 }, 4), 25);
  assert.equal(cpuPercentOfHost({ atMs: 0, value: 0 }, { atMs: 1000, value: 9 }, 4), 100);
  assert.equal(cpuPercentOfHost({ atMs: 0, value: 0 }, { atMs: 1000, value: 1 }, 0), null);
});

test('rates and shares', () => {
  assert.equal(ratePerSecond({ atMs: 0, value: 0 }, { atMs: 2000, value: 4096 }), 2048);
  assert.equal(percentOf(32, 128), 25);
  assert.equal(percentOf(32, null), null);
  assert.equal(percentOf(32, 0), null);
});
