/**
 * The agent's side of admission: before it creates a container it checks the task's spec against
 * the policy the task carries (baseline when it carries none), and refuses with the reason, which
 * the converge loop reports as the task's failure. A bind source is checked again as the host
 * resolves it (symlinks followed): a link under an allowed prefix may point anywhere.
 */
import { realpathSync } from 'node:fs';
import type { TaskSpec } from '../protocol/messages.ts';
import { BASELINE_ADMISSION } from './admission-policy.ts';
import { checkAdmission, normalisePath } from './check-admission.ts';

export class AdmissionRefusedError extends Error {
  override readonly name = 'AdmissionRefusedError';
}

/** The host's own reading of a path (symlinks followed), or undefined when it does not exist yet. */
export function hostRealPath(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

export function assertAdmittedOnAgent(
  task: TaskSpec,
  resolve: (path: string) => string | undefined = hostRealPath,
): void {
  const resolved = (task.spec.volumes ?? []).flatMap((mount, index) => {
    if (mount.type !== 'bind' || mount.source === undefined) return [];
    const real = resolve(mount.source);
    return real === undefined || real === normalisePath(mount.source)
      ? []
      : [{ field: `volumes.${index}.source (${mount.source} resolves to ${real})`, path: real }];
  });
  const violations = checkAdmission(
    { ...task.spec, hostPaths: resolved },
    task.admission ?? BASELINE_ADMISSION,
  );
  if (violations.length === 0) return;
  throw new AdmissionRefusedError(
    `refused by the agent's admission check: ${violations.map((v) => v.message).join('; ')}`,
  );
}
