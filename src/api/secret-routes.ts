/**
 * Secret and config routes, one set per kind: create or update (`{name, data}`, data base64),
 * list (names, versions, sizes; never a secret's value), remove (refused while a service uses
 * it), and for configs only, read one back. Updating a value gives every service that uses it a
 * new revision, which rolls it. Events name the secret, never its value.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import type { secretViewSchema } from '../model/access-views.ts';
import type { SecretKind } from '../model/secret-ref.ts';
import { SECRET_NAME_PATTERN } from '../model/secret-ref.ts';
import { usesRef } from '../secrets/secret-refs.ts';
import type { SecretEntry, SecretStore } from '../secrets/secret-store.ts';
import { MAX_SECRET_BYTES } from '../secrets/secret-store.ts';
import type { ApiDeps } from './deps.ts';
import { HttpError, NotFoundError, ValidationError } from './errors.ts';
import { assertUsersAdmitted, changesValue, rollUsers, usersOf } from './secret-rolls.ts';
import { readJson } from './service-routes.ts';

const putRequestSchema = z.strictObject({
  name: z.string().regex(SECRET_NAME_PATTERN, 'must be letters, digits, ".", "_" or "-", at most 64'),
  data: z.base64('must be base64'),
});

export function secretRoutes(
  deps: Pick<ApiDeps, 'store' | 'controller' | 'events' | 'now'>,
  secrets: SecretStore,
): Hono {
  const { store, controller, events, now } = deps;
  const app = new Hono();

  for (const kind of ['secret', 'config'] as const satisfies SecretKind[]) {
    const plural = `${kind}s`;
    const record = (message: string, service: string | null = null) =>
      events.append({ type: kind, service, container: null, node: null, message }, now());

    app.get(`/${plural}`, (c) => c.json(secrets.list(kind).map((e) => entryView(kind, e))));

    app.post(`/${plural}`, async (c) => {
      const parsed = putRequestSchema.safeParse(await readJson(c.req.raw));
      if (!parsed.success) throw new ValidationError(`${kind} request`, parsed.error);
      const value = Buffer.from(parsed.data.data, 'base64');
      if (value.length > MAX_SECRET_BYTES)
        throw new HttpError(
          400,
          `data: a ${kind} holds at most ${MAX_SECRET_BYTES} bytes, got ${value.length}`,
        );
      const { name } = parsed.data;
      // An update rolls every service that uses the value: each must still pass the policy, or
      // nothing is written (secret-rolls.ts).
      if (changesValue(secrets, kind, name, value)) assertUsersAdmitted(store, kind, name);
      const result = secrets.put(kind, name, value, now());
      if (result.created) record(`${capital(kind)} ${name} created (${value.length} bytes)`);
      else if (result.changed) {
        const users = usersOf(store, kind, name).map((s) => s.spec.name);
        record(
          `${capital(kind)} ${name} updated to version ${result.entry.version}${users.length ? `: rolling ${users.join(', ')}` : ''}`,
        );
        rollUsers({ store, secrets, events, now }, kind, name);
        await controller.settle();
      }
      return c.json(entryView(kind, result.entry), result.created ? 201 : 200);
    });

    if (kind === 'config') {
      app.get('/configs/:name', (c) => {
        const name = c.req.param('name');
        const entry = secrets.get('config', name);
        const value = secrets.value('config', name);
        if (!entry || !value) throw new NotFoundError(`config ${name}`);
        return c.json({ ...entryView('config', entry), data: value.toString('base64') });
      });
    }

    app.delete(`/${plural}/:name`, (c) => {
      const name = c.req.param('name');
      const users = store.listServices().filter((s) => usesRef(s.spec, kind, name));
      if (users.length > 0)
        throw new HttpError(
          409,
          `${kind} ${name} is used by ${users.map((s) => s.spec.name).join(', ')}: remove it from them first`,
        );
      if (!secrets.remove(kind, name)) throw new NotFoundError(`${kind} ${name}`);
      record(`${capital(kind)} ${name} removed`);
      return c.json({ deleted: name });
    });
  }
  return app;
}

function entryView(_kind: SecretKind, entry: SecretEntry): z.infer<typeof secretViewSchema> {
  return {
    name: entry.name,
    version: entry.version,
    size_bytes: entry.size_bytes,
    digest: entry.digest,
    created_at: new Date(entry.created_at).toISOString(),
    updated_at: new Date(entry.updated_at).toISOString(),
  };
}

function capital(kind: SecretKind): string {
  return kind === 'secret' ? 'Secret' : 'Config';
}
