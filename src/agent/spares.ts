/**
 * Spares, the pure part: a task's next container, created ahead and not started (the `skiff.spare`
 * label), so that replacing a crashed replica is only a start.
 *
 * Why it pays: when a container dies, the engine tears it down (network endpoint, mounts) for
 * 150–250 ms, and a start issued within a few milliseconds of the `die` runs ahead of that
 * teardown (about 250 ms), while one issued 10 ms later, the time a create takes, waits behind it
 * (about 370 ms; `npm run bench:engine-start`, the heal section). Creating after the death cannot
 * be quick enough; creating before it can.
 *
 * A spare is made only for a task that restarts, whose current container runs, when nothing else
 * is in flight on the node (it never competes with a start), and never for what a created
 * container would hold or freeze: named volumes (a volume in use cannot be removed, and a
 * single-writer one is checked against every container that has it), fixed host ports (the dead
 * container may still hold the port when the spare starts), `pull: always` (each replacement must
 * check the tag again). A task's spec never changes (a new spec is a new task), so a spare stays
 * right for its task's life; it goes with its task.
 */
import type { ManagedContainer } from '../docker/container-engine.ts';
import { containerName } from '../model/names.ts';
import { bindsHostPort } from '../model/service-spec.ts';
import { replicaVolumes } from '../model/volume-spec.ts';
import type { TaskSpec } from '../protocol/messages.ts';

/** A spare whose create failed is tried again this long after (a broken engine is not hammered). */
export const SPARE_RETRY_MS = 60_000;

/** Spares made in one pass at most (the rest in later idle passes): a hundred replicas deployed make no burst. */
export const SPARES_AT_ONCE = 2;

/** Whether a task keeps a spare. */
export function wantsSpare(task: TaskSpec): boolean {
  const { spec } = task;
  if (spec.restart_policy.condition === 'never') return false;
  if (spec.pull === 'always') return false;
  if (spec.ports.some(bindsHostPort)) return false;
  return replicaVolumes(spec, task.slot).length === 0;
}

/** A spare until it is started: then it is the task's container like any other. */
export function isSpare(container: ManagedContainer): boolean {
  return container.spare === true && container.state === 'created';
}

/**
 * A spare's name: the task's name with `.sN` (N the restart it is made for), apart from the names
 * of the task's own creates (`.N`), so a create never meets a spare's name.
 */
export function spareName(task: TaskSpec, restart: number): string {
  return `${containerName(task.service, task.slot, task.task_id)}.s${restart}`;
}

/** The key an operation making a task's spare holds: the task itself stays free for a replacement. */
export function spareKey(taskId: string): string {
  return `spare:${taskId}`;
}
