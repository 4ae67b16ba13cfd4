/**
 * Turns a task into the Docker create body: identity labels (the agent's source of truth),
 * resource limits, ports, env and command. Pure, so what the engine is asked for is testable.
 */
import { parseDurationMs } from '../model/duration.ts';
import { containerName, slotName } from '../model/names.ts';
import type { TaskSpec } from '../protocol/messages.ts';
import type { ContainerDefinition } from './container-engine.ts';
import { LABELS } from './container-engine.ts';

export function containerDefinition(task: TaskSpec, clusterId: string): ContainerDefinition {
  const { spec } = task;
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostPort: string }[]> = {};
  for (const port of spec.ports) {
    const key = `${port.container_port}/${port.protocol}`;
    exposed[key] = {};
    // An empty HostPort asks the engine for a free one: the dynamic port users expect.
    bindings[key] = [{ HostPort: port.host_port === undefined ? '' : String(port.host_port) }];
  }
  const env = {
    ...spec.env,
    SKIFF_SERVICE: task.service,
    SKIFF_SLOT: slotName(task.service, task.slot),
    SKIFF_TASK_ID: task.task_id,
  };
  const hostConfig: Record<string, unknown> = {
    PortBindings: bindings,
    // Skiff restarts replicas itself (fresh container, backoff, events); the engine must not.
    RestartPolicy: { Name: 'no' },
    LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
  };
  if (spec.resources.memory_mb !== undefined) {
    hostConfig.Memory = spec.resources.memory_mb * 1024 * 1024;
    // No swap beyond the limit, so the limit means what it says.
    hostConfig.MemorySwap = spec.resources.memory_mb * 1024 * 1024;
  }
  if (spec.resources.cpus !== undefined) hostConfig.NanoCpus = Math.round(spec.resources.cpus * 1e9);
  if (spec.resources.cpu_shares !== undefined) hostConfig.CpuShares = spec.resources.cpu_shares;
  const body: Record<string, unknown> = {
    Image: spec.image,
    Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
    Labels: {
      ...spec.labels,
      [LABELS.cluster]: clusterId,
      [LABELS.service]: task.service,
      [LABELS.task]: task.task_id,
      [LABELS.slot]: String(task.slot),
      [LABELS.revision]: String(task.revision),
    },
    Hostname: slotName(task.service, task.slot),
    ExposedPorts: exposed,
    StopTimeout: Math.ceil((parseDurationMs(spec.stop_grace_period) ?? 10_000) / 1000),
    HostConfig: hostConfig,
  };
  if (spec.command) body.Cmd = spec.command;
  return { name: containerName(task.service, task.slot, task.task_id), image: spec.image, body };
}
