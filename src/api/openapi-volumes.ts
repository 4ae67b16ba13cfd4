/** The OpenAPI paths of volumes, spread into openapi.ts's document; from the routes' own schemas. */
import { z } from 'zod';
import { errorBodySchema } from '../model/views.ts';
import { volumeMoveRequestSchema, volumeRemoveViewSchema, volumeViewSchema } from '../model/volume-view.ts';

const json = (schema: z.ZodType, io: 'input' | 'output' = 'output') => ({
  'application/json': { schema: z.toJSONSchema(schema, { io, unrepresentable: 'any' }) },
});
const error = (description: string) => ({ description, content: json(errorBodySchema) });
const nameParam = { name: 'name', in: 'path', required: true, schema: { type: 'string' } };

export function volumePaths(): Record<string, unknown> {
  return {
    '/api/volumes': {
      get: {
        summary: 'List volumes: the node holding each, its service and replica, and which replicas use it',
        responses: { '200': { description: 'Volumes', content: json(z.array(volumeViewSchema)) } },
      },
    },
    '/api/volumes/{name}': {
      get: {
        summary: 'One volume, a row per node holding it',
        parameters: [nameParam],
        responses: {
          '200': { description: 'The volume', content: json(z.array(volumeViewSchema)) },
          '404': error('No such volume'),
        },
      },
      delete: {
        summary:
          'Remove a volume (its data is lost): each node holding it removes it once no container has it',
        parameters: [
          nameParam,
          {
            name: 'node',
            in: 'query',
            required: false,
            description: 'Only the copy on this node (the one a move left behind)',
            schema: { type: 'string' },
          },
        ],
        responses: {
          '200': { description: 'Removal asked for', content: json(volumeRemoveViewSchema) },
          '404': error('No such volume'),
          '409': error('A replica meant to run uses it'),
        },
      },
    },
    '/api/volumes/{name}/move': {
      post: {
        summary:
          "Move a volume's replica to another node: it starts there with an empty volume (volumes are local to a node; the data stays where it was)",
        parameters: [nameParam],
        requestBody: { required: true, content: json(volumeMoveRequestSchema, 'input') },
        responses: {
          '200': { description: 'The volume', content: json(z.array(volumeViewSchema)) },
          '404': error('No such volume or node'),
          '409': error('Its replica runs on a ready node'),
        },
      },
    },
  };
}
