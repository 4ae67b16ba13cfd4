/**
 * Indirect probes on the agent link, in the spirit of SWIM's: when a node's agent goes silent,
 * the server asks other agents (`probe.node`) whether that node's replicas still answer at its
 * published ports, and each answers once (`probe.node.result`). A node none of them can reach is
 * down at once; one whose replicas answer (its agent restarting) keeps them through the grace.
 * Only agents announcing the `node-probe` feature are asked. Spread into the unions of messages.ts.
 */
import { z } from 'zod';
import { boundedTextSchema, idTextSchema } from '../model/bounds.ts';

/** The most ports one probe tries: a few of the node's replicas are evidence enough. */
export const MAX_PROBE_PORTS = 8;

export const nodeProbeServerMessages = [
  z.object({
    type: z.literal('probe.node'),
    probe_id: idTextSchema,
    /** The node probed, for the agent's log. */
    node_id: idTextSchema,
    address: z.string().max(253),
    /** TCP ports published on `address` by the node's replicas: any one that accepts is an answer. */
    ports: z.array(z.int().min(1).max(65535)).min(1).max(MAX_PROBE_PORTS),
    /** How long each connection may take before it counts as no answer. */
    timeout_ms: z.int().min(10).max(10_000),
  }),
] as const;

export const nodeProbeAgentMessages = [
  z.object({
    type: z.literal('probe.node.result'),
    probe_id: idTextSchema,
    /** True when at least one port accepted a connection. */
    reachable: z.boolean(),
    /** What each port did, for the event (`8080: refused`). */
    detail: boundedTextSchema(1024),
  }),
] as const;
