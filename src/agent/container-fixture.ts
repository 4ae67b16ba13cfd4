/** Test fixture: a listed container of service `web`, slot 0, running, for the converger's tests. */
import type { ManagedContainer } from '../docker/container-engine.ts';

export function container(
  id: string,
  taskId: string,
  overrides: Partial<ManagedContainer> = {},
): ManagedContainer {
  return {
    id,
    name: `web-0.${taskId}`,
    taskId,
    service: 'web',
    slot: 0,
    revision: 1,
    state: 'running',
    exitCode: null,
    oomKilled: false,
    startedAt: 1,
    createdAt: 1,
    ports: [],
    ip: null,
    ...overrides,
  };
}
