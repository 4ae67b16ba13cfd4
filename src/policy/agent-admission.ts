/**
 * The agent's side of admission: before it creates a container it checks the task's spec against
 * the policy the task carries (baseline when it carries none), and refuses with the reason, which
 * the converge loop reports as the task's failure.
 */
import type { TaskSpec } from '../protocol/messages.ts';
import { BASELINE_ADMISSION } from './admission-policy.ts';
import { checkAdmission } from './check-admission.ts';

export class AdmissionRefusedError extends Error {
  override readonly name = 'AdmissionRefusedError';
}

export function assertAdmittedOnAgent(task: TaskSpec): void {
  const violations = checkAdmission(task.spec, task.admission ?? BASELINE_ADMISSION);
  if (violations.length === 0) return;
  throw new AdmissionRefusedError(
    `refused by the agent's admission check: ${violations.map((v) => v.message).join('; ')}`,
  );
}
