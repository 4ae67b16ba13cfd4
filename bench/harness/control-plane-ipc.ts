/**
 * The messages between `bench/control-plane.ts` and its two children over Node's IPC channel:
 * the server process (bench/harness/control-plane-server.ts) and the simulated agents
 * (bench/sim-agents.ts). Checked with schemas on arrival, like any other boundary.
 */
import { z } from 'zod';

/**
 * One controller pass as the failover trace records it. Times are epoch ms with a fraction
 * (`performance.timeOrigin + performance.now()`), comparable across the bench's processes.
 */
export const passTraceSchema = z.object({
  endedAt: z.number(),
  ms: z.number(),
  readMs: z.number(),
  planMs: z.number(),
  writeMs: z.number(),
  sendMs: z.number(),
  /** Nodes the pass called down. */
  downs: z.int(),
  assignments: z.int(),
  inserted: z.int(),
  /** Nodes the pass sent (or queued) endpoints to. */
  endpointNodes: z.int(),
});
export type PassTrace = z.infer<typeof passTraceSchema>;

export const serverCommandSchema = z.discriminatedUnion('cmd', [
  /** Answer with the controller pass durations since the last `passes`, and forget them. */
  z.object({ cmd: z.literal('passes') }),
  /** Answer with how many nodes are yet to be sent the newest endpoints (controller `endpointsWaiting`). */
  z.object({ cmd: z.literal('endpoints-waiting') }),
  /** Start recording every pass (`trace` answers with them), forgetting what was recorded. */
  z.object({ cmd: z.literal('trace-start') }),
  /** Answer with the passes recorded since `trace-start`, and when the named nodes' connections dropped. */
  z.object({ cmd: z.literal('trace'), nodes: z.array(z.string()) }),
]);
export type ServerCommand = z.infer<typeof serverCommandSchema>;

export const serverReplySchema = z.discriminatedUnion('event', [
  z.object({
    event: z.literal('listening'),
    url: z.string(),
    adminToken: z.string(),
    joinToken: z.string(),
    downAfterMs: z.number(),
  }),
  z.object({ event: z.literal('passes'), durationsMs: z.array(z.number()) }),
  z.object({ event: z.literal('endpoints-waiting'), nodes: z.int().min(0) }),
  z.object({
    event: z.literal('trace'),
    passes: z.array(passTraceSchema),
    /** When each named node was last seen (its connection dropped, for a killed one): epoch ms; -1: unknown. */
    lastSeen: z.array(z.number()),
  }),
]);
export type ServerReply = z.infer<typeof serverReplySchema>;

export const fleetCommandSchema = z.discriminatedUnion('cmd', [
  z.object({ cmd: z.literal('kill'), names: z.array(z.string()) }),
  z.object({ cmd: z.literal('churn'), perSecond: z.number().positive() }),
  z.object({ cmd: z.literal('stop-churn') }),
  z.object({ cmd: z.literal('counters') }),
  /**
   * Answer `running` once at least `expected` slots (service, slot) run on the live agents; with
   * `trace`, also how many ran at each look (every 25 ms) and when each agent last received an
   * assignment.
   */
  z.object({ cmd: z.literal('wait-running'), expected: z.int().min(0), trace: z.boolean().optional() }),
]);
export type FleetCommand = z.infer<typeof fleetCommandSchema>;

export const fleetCountersSchema = z.object({
  messages: z.number(),
  bytes: z.number(),
  endpointsWhole: z.number(),
  endpointWholeBytes: z.number(),
  endpointDeltas: z.number(),
  endpointDeltaBytes: z.number(),
  endpointResyncs: z.number(),
  assignments: z.number(),
  reports: z.number(),
  stats: z.number(),
  registered: z.number(),
  connects: z.number(),
  runningSlots: z.number(),
  churnKills: z.number(),
});
export type FleetCounters = z.infer<typeof fleetCountersSchema>;

export const fleetReplySchema = z.discriminatedUnion('event', [
  z.object({ event: z.literal('started'), nodes: z.number(), ms: z.number() }),
  z.object({ event: z.literal('killed'), count: z.number() }),
  z.object({ event: z.literal('counters'), counters: fleetCountersSchema }),
  z.object({
    event: z.literal('running'),
    running: z.int(),
    /** With `trace`: [epoch ms, slots running] at each look, the fleet's event-loop delay, assignment times. */
    samples: z.array(z.tuple([z.number(), z.int()])).optional(),
    loopDelayP99Ms: z.number().optional(),
    loopDelayMaxMs: z.number().optional(),
    /** Epoch ms of each live agent's last assignment received (agents that got none: left out). */
    assignedAt: z.array(z.number()).optional(),
  }),
  z.object({ event: z.literal('failed'), message: z.string() }),
]);
export type FleetReply = z.infer<typeof fleetReplySchema>;
