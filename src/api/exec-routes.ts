/**
 * `GET /api/exec` (a WebSocket upgrade, see exec-upgrade.ts): runs a command in a replica. The
 * request passes through the app like any other (auth, the role table: operator and up), and
 * this route resolves the target — an exact replica name (`api-server-2`) wins, else a service
 * name means any running replica of it — checks that its node's agent can exec, records the
 * event, and hands the session to the upgrade. Without an upgrade it is a 400.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { slotName } from '../model/names.ts';
import { type ExecRequest, execRequestSchema } from '../protocol/exec-messages.ts';
import { FEATURES } from '../protocol/features.ts';
import type { StoredTask } from '../store/store.ts';
import type { RouteDeps } from './deps.ts';
import { HttpError, NotFoundError, ValidationError } from './errors.ts';

/** The key under which the upgrade handler passes its callback in the request's env. */
export const EXEC_UPGRADE_ENV = 'skiff.execUpgrade';

export interface ExecTarget {
  readonly nodeId: string;
  readonly taskId: string;
  readonly replica: string;
  readonly request: ExecRequest;
}

export interface ExecUpgrade {
  accept(target: ExecTarget): void;
}

const flag = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const size = z.coerce.number().int().min(1).max(10_000);
const querySchema = z.strictObject({
  target: z.string().min(1).max(128),
  cmd: z
    .array(z.string().max(64 * 1024))
    .min(1, 'give the command to run')
    .max(1024),
  tty: flag.default(false),
  stdin: flag.default(false),
  user: z.string().max(128).optional(),
  workdir: z.string().max(4096).optional(),
  env: z
    .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*=/, 'must be KEY=VALUE'))
    .max(256)
    .default([]),
  cols: size.optional(),
  rows: size.optional(),
});

export function execRoutes(deps: RouteDeps): Hono<{ Bindings: Record<string, unknown> }> {
  const { store, cluster, events, now } = deps;
  const app = new Hono<{ Bindings: Record<string, unknown> }>();

  app.get('/exec', (c) => {
    const url = new URL(c.req.url);
    const raw: Record<string, unknown> = {};
    for (const key of new Set(url.searchParams.keys()))
      raw[key] = key === 'cmd' || key === 'env' ? url.searchParams.getAll(key) : url.searchParams.get(key);
    const parsed = querySchema.safeParse(raw);
    if (!parsed.success) throw new ValidationError('exec request', parsed.error);
    const query = parsed.data;
    const task = resolveTarget(
      store.listTasks.bind(store),
      (name) => store.getService(name) !== undefined,
      query.target,
    );
    const replica = slotName(task.service, task.slot);
    const nodeId = task.nodeId as string;
    const node = cluster.get(nodeId);
    if (!node?.link) throw new HttpError(409, `${replica}: its node ${nodeId} is not connected`);
    if (!node.features.has(FEATURES.exec))
      throw new HttpError(409, `${replica}: the agent on ${nodeId} is too old to exec (upgrade it)`);
    const upgrade = c.env?.[EXEC_UPGRADE_ENV] as ExecUpgrade | undefined;
    if (upgrade === undefined || c.req.header('upgrade')?.toLowerCase() !== 'websocket')
      throw new HttpError(400, 'exec needs a WebSocket upgrade (skiff exec makes one)');
    const request = execRequestSchema.parse({
      command: query.cmd,
      tty: query.tty,
      stdin: query.stdin,
      env: query.env,
      ...(query.user === undefined ? {} : { user: query.user }),
      ...(query.workdir === undefined ? {} : { workdir: query.workdir }),
      ...(query.cols === undefined ? {} : { cols: query.cols }),
      ...(query.rows === undefined ? {} : { rows: query.rows }),
    });
    events.append(
      {
        type: 'container',
        service: task.service,
        container: replica,
        node: nodeId,
        message: `Exec in ${replica}: ${describeCommand(query.cmd)}`,
      },
      now(),
    );
    upgrade.accept({ nodeId, taskId: task.id, replica, request });
    return c.body(null, 200);
  });

  return app;
}

/** A replica's running task: its exact name first, then any running replica of a service so named. */
export function resolveTarget(
  listTasks: (service: string) => StoredTask[],
  serviceExists: (name: string) => boolean,
  target: string,
): StoredTask {
  const running = (service: string) =>
    listTasks(service)
      .filter((t) => t.desiredState === 'running' && t.observed?.state === 'running' && t.nodeId !== null)
      .sort((a, b) => a.slot - b.slot);
  const match = /^(.+)-(\d+)$/.exec(target);
  if (match?.[1] && serviceExists(match[1])) {
    const task = running(match[1]).find((t) => t.slot === Number(match[2]));
    if (task) return task;
  }
  if (serviceExists(target)) {
    const [task] = running(target);
    if (task) return task;
    throw new HttpError(409, `service ${target} has no running replica`);
  }
  if (match?.[1] && serviceExists(match[1])) throw new HttpError(409, `replica ${target} is not running`);
  throw new NotFoundError(`replica or service ${target}`);
}

/** The command as an event shows it: quoted where needed, cut short. */
function describeCommand(command: readonly string[]): string {
  const text = command.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : JSON.stringify(arg))).join(' ');
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
