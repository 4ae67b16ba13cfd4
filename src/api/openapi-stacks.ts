/** The OpenAPI paths of stacks, spread into openapi.ts's document; from the routes' own schemas. */
import { z } from 'zod';
import {
  composeDeployViewSchema,
  composeStackRequestSchema,
  stackDeployViewSchema,
  stackRequestSchema,
  stackSummarySchema,
  stackViewSchema,
} from '../model/stack.ts';
import { errorBodySchema } from '../model/views.ts';

const json = (schema: z.ZodType, io: 'input' | 'output' = 'output') => ({
  'application/json': { schema: z.toJSONSchema(schema, { io, unrepresentable: 'any' }) },
});
const error = (description: string) => ({ description, content: json(errorBodySchema) });
const nameParam = { name: 'name', in: 'path', required: true, schema: { type: 'string' } };

export function stackPaths(): Record<string, unknown> {
  return {
    '/api/stacks': {
      get: {
        summary: 'List stacks: their services and replicas',
        responses: { '200': { description: 'Stacks', content: json(z.array(stackSummarySchema)) } },
      },
    },
    '/api/stacks/{name}': {
      post: {
        summary:
          'Deploy a stack: service specs named NAME-SERVICE (what `skiff stack deploy` translates a Compose file to), with the secrets and configs it defines; all or nothing',
        parameters: [nameParam],
        requestBody: { required: true, content: json(stackRequestSchema, 'input') },
        responses: {
          '200': { description: 'What changed', content: json(stackDeployViewSchema) },
          '400': error('An invalid spec, naming services.N and the field'),
          '409': error('A port or name another service holds, or a service of another stack'),
        },
      },
      get: {
        summary: "A stack's services",
        parameters: [nameParam],
        responses: {
          '200': { description: 'The stack', content: json(stackViewSchema) },
          '404': error('No such stack'),
        },
      },
      delete: {
        summary: "Remove a stack's services",
        parameters: [nameParam],
        responses: {
          '200': {
            description: 'Removed',
            content: json(z.object({ deleted: z.string(), services: z.array(z.string()) })),
          },
          '404': error('No such stack'),
        },
      },
    },
    '/api/stacks/{name}/compose': {
      post: {
        summary:
          'Deploy a stack from a Compose file, translated by the server (no files read; variables from env only); all or nothing',
        parameters: [nameParam],
        requestBody: { required: true, content: json(composeStackRequestSchema, 'input') },
        responses: {
          '200': {
            description: 'What changed, and the keys ignored',
            content: json(composeDeployViewSchema),
          },
          '400': error('Each problem as FILE:LINE: services.NAME: …, in details'),
          '409': error('A port or name another service holds, at the line of the service'),
        },
      },
    },
  };
}
