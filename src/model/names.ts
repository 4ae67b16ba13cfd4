/**
 * Names of services and their replicas. A service name is a DNS label (it becomes a hostname for
 * discovery); replica slot names are `<service>-<slot>` as the spec shows (`api-server-0`).
 */
export const SERVICE_NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function slotName(service: string, slot: number): string {
  return `${service}-${slot}`;
}

/**
 * Docker container names must be unique per engine, so the task id rides along (as Swarm does),
 * and a restart's attempt number too: the replacement starts before the dead container is removed.
 */
export function containerName(service: string, slot: number, taskId: string, attempt = 0): string {
  const base = `${slotName(service, slot)}.${taskId.slice(0, 12)}`;
  return attempt === 0 ? base : `${base}.${attempt}`;
}
