/**
 * The OpenAPI paths of registry credentials (`/api/registries`), spread into openapi.ts's
 * document; generated from the same schemas as the routes.
 */
import { z } from 'zod';
import { registryLoginRequestSchema, registryViewSchema } from '../model/registry-views.ts';
import { errorBodySchema } from '../model/views.ts';

const json = (schema: z.ZodType, io: 'input' | 'output' = 'output') => ({
  'application/json': { schema: z.toJSONSchema(schema, { io, unrepresentable: 'any' }) },
});
const error = (description: string) => ({ description, content: json(errorBodySchema) });

export function registryPaths(): Record<string, unknown> {
  return {
    '/api/registries': {
      get: {
        summary: 'List stored registry credentials (registry and username; never a password)',
        responses: { '200': { description: 'Credentials', content: json(z.array(registryViewSchema)) } },
      },
      post: {
        summary:
          'Store (or replace) the credential for a registry: agents send it (X-Registry-Auth) when they pull from it, and deploys resolve its tags to digests with it',
        requestBody: { required: true, content: json(registryLoginRequestSchema, 'input') },
        responses: {
          '201': { description: 'Stored', content: json(registryViewSchema) },
          '200': { description: 'Replaced (or unchanged)', content: json(registryViewSchema) },
          '400': error('Invalid registry host, username or password'),
          '403': error('The token may not change it'),
        },
      },
    },
    '/api/registries/{registry}': {
      delete: {
        summary: 'Remove the credential for a registry (HOST or HOST:PORT)',
        parameters: [{ name: 'registry', in: 'path', required: true, schema: { type: 'string' } }],
        responses: {
          '200': { description: 'Removed', content: json(z.object({ deleted: z.string() })) },
          '404': error('No credential for that registry'),
        },
      },
    },
  };
}
