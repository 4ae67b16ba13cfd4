/**
 * Test data: `ServiceView`s and replicas with sensible defaults, so each test states only the
 * fields it is about. Used by the CLI's tests only.
 */
import type { ContainerView, ServiceView } from '../model/views.ts';

export function replica(overrides: Partial<ContainerView> & Pick<ContainerView, 'slot'>): ContainerView {
  return {
    id: `c0ffee00000${overrides.slot}`,
    name: `api-server-${overrides.slot}`,
    status: 'running',
    health: 'healthy',
    node_id: 'node-1',
    task_id: `task-${overrides.slot}`,
    revision: 1,
    restart_count: 0,
    exit_code: null,
    message: null,
    retry_at: null,
    ports: [],
    ...overrides,
  };
}

export function serviceView(overrides: Partial<ServiceView> = {}): ServiceView {
  const replicas = overrides.replicas ?? 3;
  const revision = overrides.revision ?? 1;
  const containers =
    overrides.containers ?? Array.from({ length: replicas }, (_, slot) => replica({ slot, revision }));
  return {
    name: 'api-server',
    image: 'myapp:latest',
    replicas,
    ports: [],
    resources: {},
    env: {},
    restart_policy: { condition: 'always', delay: '1s', max_delay: '1m' },
    labels: {},
    networks: ['default'],
    placement: { constraints: [], strategy: 'binpack' },
    update: {
      max_surge: 1,
      max_unavailable: 0,
      min_healthy_time: '2s',
      healthy_deadline: '60s',
      auto_rollback: true,
      drain_timeout: '2s',
    },
    rollout: null,
    stop_grace_period: '10s',
    revision,
    status: 'running',
    running: replicas,
    healthy: replicas,
    message: null,
    created_at: '2024-01-15T10:00:00Z',
    updated_at: '2024-01-15T10:00:00Z',
    ...overrides,
    containers,
  };
}
