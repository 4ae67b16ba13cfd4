/**
 * The OpenAPI paths of access control and secrets (tokens, admission policy, secrets, configs),
 * spread into openapi.ts's document; generated from the same schemas as the routes.
 */
import { z } from 'zod';
import {
  createdTokenViewSchema,
  createTokenRequestSchema,
  secretViewSchema,
  tokenViewSchema,
} from '../model/access-views.ts';
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

const secretPut = z.strictObject({ name: z.string(), data: z.string() });
const secretKindPaths = (plural: 'secrets' | 'configs') => ({
  [`/api/${plural}`]: {
    get: {
      summary: `List ${plural} (names, versions, sizes; never a secret's value)`,
      responses: { '200': { description: 'Entries', content: json(z.array(secretViewSchema)) } },
    },
    post: {
      summary: `Create or update one (data base64); an update rolls every service that uses it`,
      requestBody: { required: true, content: json(secretPut, 'input') },
      responses: {
        '201': { description: 'Created', content: json(secretViewSchema) },
        '200': { description: 'Updated (or unchanged)', content: json(secretViewSchema) },
        '400': error('Invalid name or data'),
        '403': error('The token may not change it'),
      },
    },
  },
  [`/api/${plural}/{name}`]: {
    ...(plural === 'configs'
      ? {
          get: {
            summary: 'One config with its data (configs are not secret)',
            parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
            responses: {
              '200': {
                description: 'The config',
                content: json(secretViewSchema.extend({ data: z.string() })),
              },
              '404': error('Unknown config'),
            },
          },
        }
      : {}),
    delete: {
      summary: 'Remove one that no service uses',
      parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
      responses: {
        '200': { description: 'Removed', content: json(z.object({ deleted: z.string() })) },
        '404': error('Unknown name'),
        '409': error('A service uses it'),
      },
    },
  },
});

export function accessPaths(): Record<string, unknown> {
  return {
    ...secretKindPaths('secrets'),
    ...secretKindPaths('configs'),
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
