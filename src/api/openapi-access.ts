/**
 * The OpenAPI paths of access control (tokens, admission policy), spread into openapi.ts's
 * document; generated from the same schemas as the routes.
 */
import { z } from 'zod';
import { createdTokenViewSchema, createTokenRequestSchema, tokenViewSchema } from '../model/access-views.ts';
import { errorBodySchema } from '../model/views.ts';
import { admissionPolicySchema, exceptionSchema } from '../policy/admission-policy.ts';

const json = (schema: z.ZodType, io: 'input' | 'output' = 'output') => ({
  'application/json': { schema: z.toJSONSchema(schema, { io, unrepresentable: 'any' }) },
});
const error = (description: string) => ({ description, content: json(errorBodySchema) });
const adminOnly = error('The token is not an admin token');
const exceptionRequest = z.strictObject({ service: z.string(), exception: exceptionSchema });
const policyChange = (summary: string) => ({
  post: {
    summary,
    requestBody: { required: true, content: json(exceptionRequest, 'input') },
    responses: {
      '200': { description: 'The policy now', content: json(admissionPolicySchema) },
      '400': error('Invalid service or exception'),
      '403': adminOnly,
    },
  },
});

export function accessPaths(): Record<string, unknown> {
  return {
    '/api/tokens': {
      get: {
        summary: 'List API tokens (never their secrets)',
        responses: {
          '200': { description: 'Tokens', content: json(z.array(tokenViewSchema)) },
          '403': adminOnly,
        },
      },
      post: {
        summary: 'Create an API token with a role; the answer shows its secret, once',
        requestBody: { required: true, content: json(createTokenRequestSchema, 'input') },
        responses: {
          '201': { description: 'Created', content: json(createdTokenViewSchema) },
          '400': error('Invalid name, role or lifetime'),
          '403': adminOnly,
          '409': error('A token of that name exists'),
        },
      },
    },
    '/api/tokens/{name}': {
      delete: {
        summary: 'Remove an API token: it stops working at once',
        parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
        responses: {
          '200': { description: 'Removed', content: json(z.object({ deleted: z.string() })) },
          '403': adminOnly,
          '404': error('Unknown token'),
        },
      },
    },
    '/api/policy': {
      get: {
        summary: 'The admission policy: baseline or privileged, and exceptions per service',
        responses: { '200': { description: 'The policy', content: json(admissionPolicySchema) } },
      },
      put: {
        summary: 'Replace the admission policy',
        requestBody: { required: true, content: json(admissionPolicySchema, 'input') },
        responses: {
          '200': { description: 'The policy now', content: json(admissionPolicySchema) },
          '400': error('Invalid policy'),
          '403': adminOnly,
        },
      },
    },
    '/api/policy/allow': policyChange('Grant one service an exception to baseline (e.g. cap:NET_ADMIN)'),
    '/api/policy/deny': policyChange('Withdraw an exception from a service'),
  };
}
