/**
 * Stacks: `POST /api/stacks/{name}` deploys the services a Compose file translated to (and the
 * secrets and configs it defines) as one batch — every spec checked first, then one transaction,
 * so an invalid stack deploys nothing; `prune` removes the stack's services the file no longer
 * has. A stack is its services labelled `skiff.stack=NAME`, so the service routes see them too.
 */
import { Hono } from 'hono';
import { SERVICE_NAME_PATTERN } from '../model/names.ts';
import type { SecretKind } from '../model/secret-ref.ts';
import {
  STACK_LABEL,
  type StackDeployView,
  type StackSummary,
  type StackView,
  stackRequestSchema,
} from '../model/stack.ts';
import { withVersions } from '../secrets/secret-refs.ts';
import { MAX_SECRET_BYTES } from '../secrets/secret-store.ts';
import type { StoredService } from '../store/store.ts';
import { assertNoConflicts, checkSpec, commitDeploys, parseBody } from './deploy-service.ts';
import type { RouteDeps } from './deps.ts';
import { HttpError, NotFoundError } from './errors.ts';
import { pinImages } from './pin-images.ts';
import { assertUsersAdmitted, changesValue, rollUsers } from './secret-rolls.ts';
import { readJson } from './service-routes.ts';
import { serviceView } from './views.ts';

export function stackRoutes(deps: RouteDeps): Hono {
  const { store, controller, events, now } = deps;
  const app = new Hono();
  const servicesOf = (stack: string): StoredService[] =>
    store.listServices().filter((s) => s.spec.labels[STACK_LABEL] === stack);
  const stackName = (name: string): string => {
    if (!SERVICE_NAME_PATTERN.test(name))
      throw new HttpError(400, `stack name "${name}" must be lowercase letters, digits and dashes`);
    return name;
  };

  app.post('/stacks/:name', async (c) => {
    const stack = stackName(c.req.param('name'));
    const request = parseBody(await readJson(c.req.raw), stackRequestSchema, 'stack request');
    const objects = [
      ...request.secrets.map((o) => ({ kind: 'secret' as const, ...o })),
      ...request.configs.map((o) => ({ kind: 'config' as const, ...o })),
    ];
    for (const object of objects) {
      const bytes = Buffer.from(object.data, 'base64').length;
      if (bytes > MAX_SECRET_BYTES)
        throw new HttpError(
          400,
          `${object.kind}s: ${object.name} holds ${bytes} bytes, at most ${MAX_SECRET_BYTES}`,
        );
    }
    const pending = (kind: SecretKind, name: string) =>
      objects.some((o) => o.kind === kind && o.name === name);
    const checked = request.services.map((body, index) => {
      const spec = checkSpec(deps, body, `services.${index}`, pending);
      if (!spec.name.startsWith(`${stack}-`))
        throw new HttpError(
          400,
          `services.${index}.name: a service of stack ${stack} is named ${stack}-SERVICE`,
        );
      const owner = store.getService(spec.name)?.spec.labels[STACK_LABEL];
      if (store.getService(spec.name) && owner !== stack)
        throw new HttpError(
          409,
          `services.${index}.name: service ${spec.name} exists and is not part of stack ${stack}${owner ? ` (it belongs to ${owner})` : ''}`,
        );
      return { ...spec, labels: { ...spec.labels, [STACK_LABEL]: stack } };
    });
    // Resolved first: what follows is synchronous, so nothing changes between check and store.
    const pinned = await pinImages(deps, checked);
    const specs = pinned.specs;
    const names = new Set(specs.map((s) => s.name));
    if (names.size !== specs.length) throw new HttpError(400, 'services: two services have the same name');
    const pruned = request.prune ? servicesOf(stack).filter((s) => !names.has(s.spec.name)) : [];
    assertNoConflicts(deps, specs, new Set(pruned.map((s) => s.spec.name)));
    // A value the stack changes rolls the services outside it that use it too (its own are
    // stamped below), and each must still pass the policy (secret-rolls.ts).
    const own = new Set(specs.map((s) => s.name));
    for (const object of objects)
      if (changesValue(deps.secrets, object.kind, object.name, Buffer.from(object.data, 'base64')))
        assertUsersAdmitted(store, object.kind, object.name, own);

    for (const object of objects) {
      const result = deps.secrets.put(object.kind, object.name, Buffer.from(object.data, 'base64'), now());
      if (result.changed && !result.created) rollUsers({ ...deps, events }, object.kind, object.name, own);
      if (result.created || result.changed)
        events.append(
          {
            type: object.kind,
            service: null,
            container: null,
            node: null,
            message: `${object.kind === 'secret' ? 'Secret' : 'Config'} ${object.name} ${result.created ? 'created' : `updated to version ${result.entry.version}`} by stack ${stack}`,
          },
          now(),
        );
    }
    const results = commitDeploys(
      deps,
      specs.map((spec) => withVersions(deps.secrets, spec)),
    );
    for (const event of pinned.events) events.append({ ...event, node: null }, now());
    for (const service of pruned) {
      if (!store.deleteService(service.spec.name)) continue;
      events.append(
        {
          type: 'service',
          service: service.spec.name,
          container: null,
          node: null,
          message: `Service ${service.spec.name} removed (no longer in stack ${stack})`,
        },
        now(),
      );
    }
    const view: StackDeployView = {
      name: stack,
      created: results.filter((r) => r.created).map((r) => r.service.spec.name),
      updated: results.filter((r) => r.changed && !r.created).map((r) => r.service.spec.name),
      unchanged: results.filter((r) => !r.changed).map((r) => r.service.spec.name),
      removed: pruned.map((s) => s.spec.name),
    };
    events.append(
      {
        type: 'stack',
        service: null,
        container: null,
        node: null,
        message: `Stack ${stack} deployed: ${view.created.length} created, ${view.updated.length} updated, ${view.unchanged.length} unchanged, ${view.removed.length} removed`,
      },
      now(),
    );
    await controller.settle();
    // 200 whatever changed: deploying a stack applies a file, like `docker stack deploy`.
    return c.json(view);
  });

  app.get('/stacks', (c) => {
    const byStack = new Map<string, StackSummary>();
    const tasks = Map.groupBy(store.taskSnapshot(), (t) => t.service);
    for (const service of store.listServices()) {
      const stack = service.spec.labels[STACK_LABEL];
      if (stack === undefined) continue;
      const view = serviceView(service, tasks.get(service.spec.name) ?? []);
      const summary = byStack.get(stack) ?? { name: stack, services: 0, running: 0, replicas: 0 };
      byStack.set(stack, {
        ...summary,
        services: summary.services + 1,
        running: summary.running + view.running,
        replicas: summary.replicas + view.replicas,
      });
    }
    return c.json([...byStack.values()].sort((a, b) => (a.name < b.name ? -1 : 1)));
  });

  app.get('/stacks/:name', (c) => {
    const stack = stackName(c.req.param('name'));
    const services = servicesOf(stack);
    if (services.length === 0) throw new NotFoundError(`stack ${stack}`);
    const view: StackView = {
      name: stack,
      services: services.map((s) => serviceView(s, store.listTasks(s.spec.name))),
    };
    return c.json(view);
  });

  app.delete('/stacks/:name', async (c) => {
    const stack = stackName(c.req.param('name'));
    const services = servicesOf(stack);
    if (services.length === 0) throw new NotFoundError(`stack ${stack}`);
    const removed: string[] = [];
    for (const service of services)
      if (store.deleteService(service.spec.name)) removed.push(service.spec.name);
    events.append(
      {
        type: 'stack',
        service: null,
        container: null,
        node: null,
        message: `Stack ${stack} removed: ${removed.join(', ')}`,
      },
      now(),
    );
    await controller.settle();
    return c.json({ deleted: stack, services: removed });
  });

  return app;
}
