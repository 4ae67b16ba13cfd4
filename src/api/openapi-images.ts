/** The OpenAPI paths of images, spread into openapi.ts's document; from the routes' own schemas. */
import { z } from 'zod';
import { imagePruneRequestSchema, imagePruneViewSchema, imageViewSchema } from '../model/image-view.ts';
import { errorBodySchema } from '../model/views.ts';

const json = (schema: z.ZodType, io: 'input' | 'output' = 'output') => ({
  'application/json': { schema: z.toJSONSchema(schema, { io, unrepresentable: 'any' }) },
});
const error = (description: string) => ({ description, content: json(errorBodySchema) });

export function imagePaths(): Record<string, unknown> {
  return {
    '/api/images': {
      get: {
        summary:
          "Every node's images, as its agent last reported them: one row per repository:tag (one for an untagged image), with size, the containers using it and whether Skiff pulled it",
        parameters: [
          {
            name: 'node',
            in: 'query',
            required: false,
            schema: { type: 'string' },
            description: 'one node only',
          },
        ],
        responses: {
          '200': { description: 'Images', content: json(z.array(imageViewSchema)) },
          '404': error('No such node'),
        },
      },
    },
    '/api/images/prune': {
      post: {
        summary:
          'Remove, now, the images Skiff pulled that no container uses and no desired task needs (never an image Skiff did not pull); on one node, or on every connected node',
        requestBody: { required: false, content: json(imagePruneRequestSchema, 'input') },
        responses: {
          '200': {
            description: 'What each node removed, or why it could not',
            content: json(imagePruneViewSchema),
          },
          '400': error('A body other than {"node": NAME}'),
          '404': error('No such node'),
        },
      },
    },
  };
}
