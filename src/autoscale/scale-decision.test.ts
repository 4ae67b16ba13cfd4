/**
 * The autoscaler over recorded series: a load step scales out once, a steady noisy load makes no
 * decision, the end of the load scales in only after the cool-down and to the peak of its window,
 * the range and rollouts bound everything.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { autoscalePolicySchema } from '../model/autoscale-policy.ts';
import { decideScale, type Recommendation, type ScaleDecision } from './scale-decision.ts';

const policy = autoscalePolicySchema.parse({
  min: 1,
  max: 6,
  target_cpu_percent: 70,
  cooldown_up: '30s',
  cooldown_down: '5m',
});
const S = 1000;

/** Replays a series of CPU shares (one every 5 s) through the decision, applying each scale. */
function replay(shares: readonly number[], start = { replicas: 2 }) {
  let replicas = start.replicas;
  let history: readonly Recommendation[] = [];
  let lastChangeAt: number | null = null;
  const decisions: { at: number; decision: ScaleDecision }[] = [];
  shares.forEach((share, i) => {
    const now = i * 5 * S;
    // Usage spreads over the replicas there are: the same total load on more replicas is less each.
    const out = decideScale({
      policy,
      current: replicas,
      cpuShare: share,
      memoryShare: null,
      measured: replicas,
      now,
      lastChangeAt,
      rolloutInProgress: false,
      history,
    });
    history = out.history;
    decisions.push({ at: now, decision: out.decision });
    if (out.decision.kind === 'scale') {
      replicas = out.decision.to;
      lastChangeAt = now;
    }
  });
  return { replicas, scales: decisions.filter((d) => d.decision.kind === 'scale') };
}

test('a load step scales out once, by HPA’s formula, and then holds', () => {
  // 2 replicas at 105% of their limit against a 70% target: ceil(2 × 1.05 / 0.7) = 3.
  const total = 2 * 1.05;
  const shares: number[] = [];
  let replicas = 2;
  for (let i = 0; i < 60; i++) {
    shares.push(total / replicas);
    if (i === 0) replicas = 3;
  }
  const { replicas: end, scales } = replay(shares);
  assert.equal(end, 3);
  assert.equal(scales.length, 1);
  assert.match(scales[0]?.decision.reason ?? '', /CPU 105% of the limit per replica \(target 70%\)/);
});

test('five minutes of steady load with ±8% noise: no decision at all', () => {
  const noise = [0.08, -0.05, 0.02, -0.08, 0.06, 0, -0.03, 0.07];
  const shares = Array.from({ length: 60 }, (_, i) => 0.7 * (1 + (noise[i % noise.length] ?? 0)));
  assert.deepEqual(replay(shares).scales, []);
});

test('after the load, scale-in waits out the cool-down, then goes to the peak of that window', () => {
  const shares = [...Array.from({ length: 6 }, () => 0.05), ...Array.from({ length: 70 }, () => 0.05)];
  const { scales } = replay(shares, { replicas: 4 });
  assert.equal(scales.length, 1);
  assert.equal(scales[0]?.decision.kind === 'scale' && scales[0].decision.to, 1);
  // Nothing had changed since start, so the first low reading could scale in; with a change
  // just before, it must wait five minutes.
  const waited = decideScale({
    policy,
    current: 4,
    cpuShare: 0.05,
    memoryShare: null,
    measured: 4,
    now: 60 * S,
    lastChangeAt: 0,
    rolloutInProgress: false,
    history: [{ at: 10 * S, replicas: 4 }],
  });
  assert.equal(waited.decision.kind, 'hold');
  const later = decideScale({
    policy,
    current: 4,
    cpuShare: 0.05,
    memoryShare: null,
    measured: 4,
    now: 311 * S,
    lastChangeAt: 0,
    rolloutInProgress: false,
    history: [...waited.history, { at: 200 * S, replicas: 2 }],
  });
  assert.deepEqual(
    later.decision.kind === 'scale' && later.decision.to,
    2,
    'the highest recommendation of the last five minutes',
  );
});

test('a scale-up waits out cooldown_up after a change; the range bounds every decision', () => {
  const base = {
    policy,
    memoryShare: null,
    rolloutInProgress: false,
    history: [],
  };
  const soon = decideScale({ ...base, current: 2, cpuShare: 2, measured: 2, now: 10 * S, lastChangeAt: 0 });
  assert.equal(soon.decision.kind, 'hold');
  const capped = decideScale({ ...base, current: 2, cpuShare: 5, measured: 2, now: 40 * S, lastChangeAt: 0 });
  assert.deepEqual(capped.decision.kind === 'scale' && capped.decision.to, 6, 'max');
  const outside = decideScale({
    ...base,
    current: 9,
    cpuShare: null,
    measured: 0,
    now: 0,
    lastChangeAt: null,
  });
  assert.deepEqual(outside.decision.kind === 'scale' && outside.decision.to, 6);
});

test('a rollout in progress, or no figures yet, holds', () => {
  const base = { policy, current: 2, memoryShare: null, now: 0, lastChangeAt: null, history: [] };
  assert.equal(
    decideScale({ ...base, cpuShare: 3, measured: 2, rolloutInProgress: true }).decision.kind,
    'hold',
  );
  assert.equal(
    decideScale({ ...base, cpuShare: null, measured: 0, rolloutInProgress: false }).decision.kind,
    'hold',
  );
});

test('CPU and memory targets: the larger recommendation wins', () => {
  const both = autoscalePolicySchema.parse({
    min: 1,
    max: 10,
    target_cpu_percent: 50,
    target_memory_percent: 50,
  });
  const out = decideScale({
    policy: both,
    current: 2,
    cpuShare: 0.6,
    memoryShare: 1.5,
    measured: 2,
    now: 0,
    lastChangeAt: null,
    rolloutInProgress: false,
    history: [],
  });
  assert.deepEqual(out.decision.kind === 'scale' && out.decision.to, 6);
});
