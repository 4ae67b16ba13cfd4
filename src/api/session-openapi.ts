/**
 * The OpenAPI paths of the dashboard's session and live stream, spread into openapi.ts's document;
 * generated from the schemas in stream/messages.ts.
 */
import { z } from 'zod';
import { errorBodySchema } from '../model/views.ts';
import { sessionViewSchema, snapshotMessageSchema } from './stream/messages.ts';

const json = (schema: z.ZodType, io: 'input' | 'output' = 'output') => ({
  'application/json': { schema: z.toJSONSchema(schema, { io, unrepresentable: 'any' }) },
});
const error = (description: string) => ({ description, content: json(errorBodySchema) });

export function sessionPaths(): Record<string, unknown> {
  return {
    '/api/session': {
      post: {
        summary:
          'Sign in: exchange a token for an HttpOnly, SameSite=Strict session cookie (Secure over TLS); needs no Authorization',
        security: [],
        requestBody: { required: true, content: json(z.strictObject({ token: z.string() }), 'input') },
        responses: {
          '201': { description: 'Signed in (Set-Cookie: skiff_session=…)', content: json(sessionViewSchema) },
          '400': error('No token in the body'),
          '401': error('Invalid or expired token'),
          '403': error('The page’s Origin is not this server’s'),
          '429': error('Too many failed authentications from this address'),
        },
      },
      get: {
        summary: 'Who the caller is, its role, and (for a cookie) the CSRF token to send as X-CSRF-Token',
        responses: { '200': { description: 'The caller', content: json(sessionViewSchema) } },
      },
      delete: {
        summary: 'Sign out: the session is revoked on every server and its cookie cleared',
        security: [],
        responses: {
          '200': {
            description: 'Signed out',
            content: json(z.object({ signed_out: z.boolean() })),
          },
        },
      },
    },
    '/api/stream': {
      get: {
        summary:
          'The live stream, a WebSocket (messages in src/api/stream/messages.ts): a snapshot, then changes of services, tasks, nodes, events and stats',
        responses: {
          '101': { description: 'Switching to the WebSocket protocol' },
          '403': error('The page’s Origin is not this server’s'),
          '426': error('Not a WebSocket upgrade'),
        },
      },
    },
    '/api/stream/snapshot': {
      get: {
        summary:
          'The stream’s snapshot as JSON: the polling fallback (ETag is the stream version; If-None-Match gives 304)',
        responses: {
          '200': { description: 'The snapshot', content: json(snapshotMessageSchema) },
          '304': { description: 'Nothing changed since the ETag' },
        },
      },
    },
  };
}
