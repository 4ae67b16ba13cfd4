/**
 * `autoscale` on a service: scale between `min` and `max` replicas so that the average CPU (and,
 * if asked, memory) per replica, as a share of the replica's own limit, stays near the target, the
 * way Kubernetes' HorizontalPodAutoscaler does. The decisions are src/autoscale's.
 */
import { z } from 'zod';
import { durationWithin } from './duration.ts';

export const autoscalePolicySchema = z
  .strictObject({
    min: z.int().min(1).max(1000),
    max: z.int().min(1).max(1000),
    /** Average CPU per replica, in percent of its `resources.cpus` limit (70 = 0.7 of it). */
    target_cpu_percent: z.int().min(1).max(1000).optional(),
    /** Average memory working set per replica, in percent of its `resources.memory_mb` limit. */
    target_memory_percent: z.int().min(1).max(100).optional(),
    /** Usage is averaged over this long before a decision. */
    window: durationWithin(10_000).default('1m'),
    /** After any change, no scale-up before this long has passed. */
    cooldown_up: durationWithin(0).default('30s'),
    /** After any change, no scale-down before this long; and only to the highest count recommended over it. */
    cooldown_down: durationWithin(0).default('5m'),
  })
  .refine((policy) => policy.min <= policy.max, { message: 'min must not exceed max', path: ['min'] })
  .refine((policy) => policy.target_cpu_percent !== undefined || policy.target_memory_percent !== undefined, {
    message: 'give target_cpu_percent, target_memory_percent or both',
    path: ['target_cpu_percent'],
  });

export type AutoscalePolicy = z.output<typeof autoscalePolicySchema>;
