/**
 * The admission policy's routes: show it (any role), replace it, or grant and withdraw one
 * service's exception (admin). Each change is an event, and a controller pass sends the agents
 * the policy their tasks are held to.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { SERVICE_NAME_PATTERN } from '../model/names.ts';
import type { ServiceSpec } from '../model/service-spec.ts';
import type { AdmissionPolicy } from '../policy/admission-policy.ts';
import {
  admissionFor,
  admissionPolicySchema,
  exceptionSchema,
  withException,
  withoutException,
} from '../policy/admission-policy.ts';
import { checkAdmission } from '../policy/check-admission.ts';
import { readPolicy, writePolicy } from '../policy/policy-store.ts';
import type { Store } from '../store/store.ts';
import type { ApiDeps } from './deps.ts';
import { HttpError, ValidationError } from './errors.ts';
import type { EventSink } from './event-attribution.ts';
import { readJson } from './service-routes.ts';

const exceptionRequestSchema = z.strictObject({
  service: z.string().regex(SERVICE_NAME_PATTERN, 'must be a service name'),
  exception: exceptionSchema,
});

/** A spec the policy refuses: 403 (as Kubernetes answers a PodSecurity refusal), every violation in `details`. */
export function assertAdmitted(store: Store, spec: ServiceSpec): void {
  const violations = checkAdmission(spec, admissionFor(readPolicy(store), spec.name));
  if (violations.length === 0) return;
  const details = violations.map((v) => v.message);
  throw new HttpError(403, `refused by the admission policy: ${details.join('; ')}`, details);
}

export function policyRoutes(
  deps: Pick<ApiDeps, 'store' | 'controller' | 'now'> & { events: EventSink },
): Hono {
  const { store, controller, events, now } = deps;
  const app = new Hono();
  const change = async (next: AdmissionPolicy, message: string): Promise<AdmissionPolicy> => {
    writePolicy(store, next);
    events.append({ type: 'policy', service: null, container: null, node: null, message }, now());
    await controller.settle();
    return next;
  };

  app.get('/policy', (c) => c.json(readPolicy(store)));

  app.put('/policy', async (c) => {
    const parsed = admissionPolicySchema.safeParse(await readJson(c.req.raw));
    if (!parsed.success) throw new ValidationError('policy', parsed.error);
    const services = Object.keys(parsed.data.exceptions).length;
    return c.json(
      await change(
        parsed.data,
        `Admission policy set to ${parsed.data.mode} with exceptions for ${services} service(s)`,
      ),
    );
  });

  for (const [verb, apply] of [
    ['allow', withException],
    ['deny', withoutException],
  ] as const) {
    app.post(`/policy/${verb}`, async (c) => {
      const parsed = exceptionRequestSchema.safeParse(await readJson(c.req.raw));
      if (!parsed.success) throw new ValidationError(`policy ${verb} request`, parsed.error);
      const { service, exception } = parsed.data;
      const current = readPolicy(store);
      const next = apply(current, service, exception);
      if (next === current || JSON.stringify(next) === JSON.stringify(current)) return c.json(current);
      const what = verb === 'allow' ? `now allows ${exception} for` : `no longer allows ${exception} for`;
      return c.json(await change(next, `Admission policy ${what} service ${service}`));
    });
  }

  return app;
}
