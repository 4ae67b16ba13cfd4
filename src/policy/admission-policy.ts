/**
 * The cluster's admission policy as data: a mode (`baseline`, Kubernetes Pod Security's baseline
 * level, the default; or `privileged`, anything goes) and per-service exceptions to baseline such
 * as `privileged`, `cap:NET_ADMIN` or `bind:/var/log`. What one service is held to travels with
 * each of its tasks (`ServiceAdmission`), so the agent checks the same thing the server did.
 */
import { z } from 'zod';
import { SERVICE_NAME_PATTERN } from '../model/names.ts';

/** Exceptions that name no value: each lifts one baseline rule for the whole service. */
export const FLAG_EXCEPTIONS = [
  'privileged',
  'host-network',
  'host-pid',
  'host-ipc',
  'host-uts',
  'host-userns',
  'seccomp-unconfined',
  'apparmor-unconfined',
] as const;

/** `cap:NAME`, `device:/dev/PATH`, `sysctl:NAME`, `bind:/HOST/PATH` (the path and below it). */
const VALUED_EXCEPTION =
  /^(cap:[A-Z][A-Z0-9_]*|device:\/dev\/[A-Za-z0-9._/-]+|sysctl:[a-z0-9_.-]+|bind:\/[A-Za-z0-9._/-]*)$/;

export const exceptionSchema = z
  .string()
  .max(256)
  .refine((text) => (FLAG_EXCEPTIONS as readonly string[]).includes(text) || VALUED_EXCEPTION.test(text), {
    message: `must be one of ${FLAG_EXCEPTIONS.join(', ')}, cap:NAME, device:/dev/PATH, sysctl:NAME or bind:/PATH`,
  });
export type PolicyException = z.infer<typeof exceptionSchema>;

export const policyModeSchema = z.enum(['baseline', 'privileged']);
export type PolicyMode = z.infer<typeof policyModeSchema>;

export const admissionPolicySchema = z.strictObject({
  mode: policyModeSchema,
  /** Service name → the exceptions to baseline it is granted. */
  exceptions: z
    .record(
      z.string().regex(SERVICE_NAME_PATTERN, 'must be a service name'),
      z.array(exceptionSchema).max(64),
    )
    .default({}),
});
export type AdmissionPolicy = z.output<typeof admissionPolicySchema>;

export const DEFAULT_POLICY: AdmissionPolicy = { mode: 'baseline', exceptions: {} };

/** What one service is held to: the cluster mode and that service's own exceptions. */
export const serviceAdmissionSchema = z.object({
  mode: policyModeSchema,
  allow: z.array(exceptionSchema),
});
export type ServiceAdmission = z.infer<typeof serviceAdmissionSchema>;

export const BASELINE_ADMISSION: ServiceAdmission = { mode: 'baseline', allow: [] };

export function admissionFor(policy: AdmissionPolicy, service: string): ServiceAdmission {
  return { mode: policy.mode, allow: [...(policy.exceptions[service] ?? [])].sort() };
}

/** The policy with one more exception for a service (no change if it already had it). */
export function withException(
  policy: AdmissionPolicy,
  service: string,
  exception: PolicyException,
): AdmissionPolicy {
  const current = policy.exceptions[service] ?? [];
  if (current.includes(exception)) return policy;
  return { ...policy, exceptions: { ...policy.exceptions, [service]: [...current, exception].sort() } };
}

/** The policy without an exception; a service left with none drops out of the map. */
export function withoutException(
  policy: AdmissionPolicy,
  service: string,
  exception: PolicyException,
): AdmissionPolicy {
  const rest = (policy.exceptions[service] ?? []).filter((e) => e !== exception);
  const exceptions = { ...policy.exceptions };
  if (rest.length === 0) delete exceptions[service];
  else exceptions[service] = rest;
  return { ...policy, exceptions };
}
