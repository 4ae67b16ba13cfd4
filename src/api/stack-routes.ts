/**
 * Stacks: `POST /api/stacks/{name}` deploys the services a Compose file translated to (and the
 * secrets and configs it defines) as one batch (stack-deploy.ts: all or nothing);
 * `POST /api/stacks/{name}/compose` takes the Compose file itself (the dashboard's), translates it
 * here and answers errors at its lines (compose-stack.ts). A stack is its services labelled
 * `skiff.stack=NAME`, so the service routes see them too.
 */
import { Hono } from 'hono';
import { SERVICE_NAME_PATTERN } from '../model/names.ts';
import {
  composeStackRequestSchema,
  STACK_LABEL,
  type StackDeployView,
  type StackSummary,
  type StackView,
  stackRequestSchema,
} from '../model/stack.ts';
import { parseBody } from './deploy-service.ts';
import type { RouteDeps } from './deps.ts';
import { HttpError, NotFoundError } from './errors.ts';
import { readJson } from './service-routes.ts';
import { deployStack, stackServices } from './stack-deploy.ts';
import { serviceView } from './views.ts';

export function stackRoutes(deps: RouteDeps): Hono {
  const { store, controller, events, now } = deps;
  const app = new Hono();
  const servicesOf = (stack: string) => stackServices(deps, stack);
  const stackName = (name: string): string => {
    if (!SERVICE_NAME_PATTERN.test(name))
      throw new HttpError(400, `stack name "${name}" must be lowercase letters, digits and dashes`);
    return name;
  };

  app.post('/stacks/:name', async (c) => {
    const stack = stackName(c.req.param('name'));
    const request = parseBody(await readJson(c.req.raw), stackRequestSchema, 'stack request');
    const view = await deployStack(deps, stack, request);
    await controller.settle();
    // 200 whatever changed: deploying a stack applies a file, like `docker stack deploy`.
    return c.json(view);
  });

  app.post('/stacks/:name/compose', async (c) => {
    const stack = stackName(c.req.param('name'));
    const body = parseBody(await readJson(c.req.raw), composeStackRequestSchema, 'compose request');
    // The Compose reader (and its YAML parser, 72 modules) at the first Compose request: a server
    // that is never sent one does not hold it (test/server-footprint.test.ts).
    const { composeStackPlan } = await import('./compose-stack.ts');
    const plan = composeStackPlan(stack, body);
    let view: StackDeployView;
    try {
      view = await deployStack(deps, stack, plan.request);
    } catch (error) {
      // The spec's own words, placed at the Compose file's line of the service (and key) they name.
      if (error instanceof HttpError) throw plan.atLines(error);
      throw error;
    }
    await controller.settle();
    return c.json({ ...view, warnings: plan.warnings });
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
