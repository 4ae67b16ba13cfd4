/**
 * A service's average usage per replica over a window, as a share of each replica's limit, from
 * the stats window's raw samples: CPU as the growth of its CPU-seconds counter over the window's
 * span (so a replacement container, whose counter restarted, starts a series of its own), memory
 * as the mean working set. Replicas with fewer than two samples in the window are not counted.
 * Pure over the samples it is given.
 */
export interface UsageSample {
  readonly at: number;
  readonly cpu_seconds: number;
  readonly memory_working_set_bytes: number;
}

export interface UsageShare {
  readonly cpuShare: number | null;
  readonly memoryShare: number | null;
  /** Replicas the figures come from. */
  readonly measured: number;
}

const MIB = 1024 * 1024;

export function usageShare(
  replicas: readonly (readonly UsageSample[])[],
  limits: { cpus?: number | undefined; memoryMb?: number | undefined },
  windowMs: number,
  now: number,
): UsageShare {
  const cpu: number[] = [];
  const memory: number[] = [];
  for (const samples of replicas) {
    const inWindow = samples.filter((s) => now - s.at <= windowMs);
    const first = inWindow[0];
    const last = inWindow.at(-1);
    if (!first || !last || inWindow.length < 2 || last.at <= first.at) continue;
    const cores = Math.max(0, last.cpu_seconds - first.cpu_seconds) / ((last.at - first.at) / 1000);
    if (limits.cpus !== undefined) cpu.push(cores / limits.cpus);
    if (limits.memoryMb !== undefined) {
      const mean = inWindow.reduce((sum, s) => sum + s.memory_working_set_bytes, 0) / inWindow.length;
      memory.push(mean / (limits.memoryMb * MIB));
    }
  }
  const average = (values: number[]) =>
    values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
  return {
    cpuShare: average(cpu),
    memoryShare: average(memory),
    measured: Math.max(cpu.length, memory.length),
  };
}
