/**
 * The OpenAPI 3.1 document, generated from the same zod schemas that validate requests and shape
 * responses, so it cannot drift from what the server does.
 */
import { z } from 'zod';
import { buildInfo } from '../build/build-info.ts';
import { eventSchema } from '../model/event.ts';
import { nodeLabelsSchema } from '../model/node.ts';
import { revisionViewSchema, rollbackRequestSchema } from '../model/rollout.ts';
import { scaleRequestSchema, serviceSpecSchema } from '../model/service-spec.ts';
import { versionViewSchema } from '../model/version-view.ts';
import {
  errorBodySchema,
  logLineSchema,
  nodeViewSchema,
  serversViewSchema,
  serviceViewSchema,
} from '../model/views.ts';
import { clusterStatsSchema, serviceStatsSchema } from '../stats/stats-schema.ts';
import { accessPaths } from './openapi-access.ts';
import { execPaths } from './openapi-exec.ts';
import { imagePaths } from './openapi-images.ts';
import { registryPaths } from './openapi-registries.ts';
import { stackPaths } from './openapi-stacks.ts';
import { volumePaths } from './openapi-volumes.ts';
import { sessionPaths } from './session-openapi.ts';

const json = (schema: z.ZodType, io: 'input' | 'output' = 'output') => ({
  'application/json': { schema: z.toJSONSchema(schema, { io, unrepresentable: 'any' }) },
});
const error = (description: string) => ({ description, content: json(errorBodySchema) });
const nameParam = { name: 'name', in: 'path', required: true, schema: { type: 'string' } };
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const nodeAction = (summary: string) => ({
  post: {
    summary,
    parameters: [idParam],
    responses: {
      '200': { description: 'The node', content: json(nodeViewSchema) },
      '404': error('Unknown node'),
    },
  },
});
const query = (name: string, description: string, type = 'string') => ({
  name,
  in: 'query',
  required: false,
  description,
  schema: { type },
});

/** `limit` and `after` (paging.ts): the answer stays an array; `Link: <…>; rel="next"` when more follow. */
const pageParams = (key: string) => [
  query('limit', 'At most this many; a `Link: <…>; rel="next"` header points to the next page', 'integer'),
  query('after', `Only items after this ${key} (the last of the previous page)`),
];

export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Skiff API',
      // The document describes this build's API: its version is the build's.
      version: buildInfo().version,
      description: 'Deploy, scale and inspect services on a Skiff cluster.',
    },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
    paths: {
      '/api/version': {
        get: {
          summary: "The server's release, build, API version and the agent protocol versions it accepts",
          responses: { '200': { description: 'Versions', content: json(versionViewSchema) } },
        },
      },
      '/api/deploy': {
        post: {
          summary: 'Create a service, or replace the spec of an existing one',
          requestBody: { required: true, content: json(serviceSpecSchema, 'input') },
          responses: {
            '201': { description: 'Created', content: json(serviceViewSchema) },
            '200': { description: 'Updated (or unchanged)', content: json(serviceViewSchema) },
            '400': error('Invalid spec; details name each field'),
            '401': error('Missing or wrong token'),
            '403': error(
              'The token may not deploy, or the admission policy refuses the spec (details name each field and rule)',
            ),
          },
        },
      },
      '/api/services': {
        get: {
          summary: 'List services',
          parameters: pageParams('service name'),
          responses: { '200': { description: 'Services', content: json(z.array(serviceViewSchema)) } },
        },
      },
      '/api/services/{name}': {
        get: {
          summary: 'One service with its replicas',
          parameters: [nameParam],
          responses: {
            '200': { description: 'The service', content: json(serviceViewSchema) },
            '404': error('Unknown service'),
          },
        },
        delete: {
          summary: 'Remove a service and its containers (its volumes stay unless volumes=true)',
          parameters: [
            nameParam,
            query('volumes', "true: remove the service's named volumes too (their data is lost)", 'boolean'),
          ],
          responses: {
            '200': {
              description: 'Removed',
              content: json(z.object({ deleted: z.string(), volumes: z.array(z.string()).optional() })),
            },
            '404': error('Unknown service'),
          },
        },
      },
      '/api/services/{name}/scale': {
        post: {
          summary: 'Set the replica count',
          parameters: [nameParam],
          requestBody: { required: true, content: json(scaleRequestSchema, 'input') },
          responses: {
            '200': { description: 'The service', content: json(serviceViewSchema) },
            '400': error('Invalid request'),
            '404': error('Unknown service'),
          },
        },
      },
      '/api/services/{name}/logs': {
        get: {
          summary: 'Logs of every replica, merged in time order',
          parameters: [
            nameParam,
            query('tail', 'Lines per replica from the end', 'integer'),
            query('since', 'RFC 3339 time, unix seconds, or a duration ago ("10m")'),
            query('follow', 'Stream until the client disconnects', 'boolean'),
            query('format', '"text" (default: `api-server-0 | line`) or "ndjson" (one LogLine per line)'),
          ],
          responses: {
            '200': {
              description: 'Log lines',
              content: {
                'text/plain': { schema: { type: 'string' } },
                'application/x-ndjson': { schema: z.toJSONSchema(logLineSchema) },
              },
            },
            '404': error('Unknown service'),
          },
        },
      },
      '/api/services/{name}/revisions': {
        get: {
          summary: "The service's revisions, oldest first (rollout history)",
          parameters: [nameParam],
          responses: {
            '200': { description: 'Revisions', content: json(z.array(revisionViewSchema)) },
            '404': error('Unknown service'),
          },
        },
      },
      '/api/services/{name}/rollback': {
        post: {
          summary: 'Return to an earlier revision (undo); replicas still running it are kept',
          parameters: [nameParam],
          requestBody: { required: false, content: json(rollbackRequestSchema, 'input') },
          responses: {
            '200': { description: 'The service, rolling back', content: json(serviceViewSchema) },
            '400': error('No such revision'),
            '404': error('Unknown service'),
            '409': error('Nothing earlier to return to, or already on that revision'),
          },
        },
      },
      '/api/events': {
        get: {
          summary: 'Orchestration events, oldest first',
          parameters: [
            query('since', 'RFC 3339 time, unix seconds, or a duration ago'),
            query('service', 'Only this service'),
            query('limit', 'At most this many (newest; after `after`, the oldest), default 1000', 'integer'),
            query('after', 'Only events after this id, oldest first; a full page links the next', 'integer'),
            query('follow', 'NDJSON: the backlog, then live events', 'boolean'),
          ],
          responses: { '200': { description: 'Events', content: json(z.array(eventSchema)) } },
        },
      },
      '/api/stats': {
        get: {
          summary:
            'CPU, memory, network and block I/O of every replica, and each node’s CPU, memory and disk',
          parameters: [
            query(
              'follow',
              'NDJSON: the current figures, then a line whenever agents report (at most 1/s)',
              'boolean',
            ),
          ],
          responses: { '200': { description: 'Latest resource usage', content: json(clusterStatsSchema) } },
        },
      },
      '/api/services/{name}/stats': {
        get: {
          summary: 'Resource usage of one service’s replicas',
          parameters: [
            nameParam,
            query(
              'follow',
              'NDJSON: the current figures, then a line whenever agents report (at most 1/s)',
              'boolean',
            ),
          ],
          responses: {
            '200': { description: 'Latest resource usage', content: json(serviceStatsSchema) },
            '404': error('Unknown service'),
          },
        },
      },
      '/api/servers': {
        get: {
          summary: "The cluster's servers, which one leads and since when, and the store's health",
          responses: { '200': { description: 'Servers', content: json(serversViewSchema) } },
        },
      },
      '/api/nodes': {
        get: {
          summary: 'Nodes of the cluster',
          parameters: pageParams('node id'),
          responses: { '200': { description: 'Nodes', content: json(z.array(nodeViewSchema)) } },
        },
      },
      '/api/nodes/{id}': {
        get: {
          summary: 'One node',
          parameters: [idParam],
          responses: {
            '200': { description: 'The node', content: json(nodeViewSchema) },
            '404': error('Unknown node'),
          },
        },
        delete: {
          summary: 'Forget a node whose agent is gone',
          parameters: [idParam],
          responses: {
            '200': { description: 'Removed', content: json(z.object({ deleted: z.string() })) },
            '404': error('Unknown node'),
            '409': error('The node is connected'),
          },
        },
      },
      '/api/nodes/{id}/cordon': nodeAction('Place no new replicas on the node'),
      '/api/nodes/{id}/uncordon': nodeAction('Make the node schedulable again'),
      '/api/nodes/{id}/drain': nodeAction('Cordon the node and move its replicas elsewhere, start-first'),
      '/api/nodes/{id}/labels': {
        put: {
          summary: "Set the node's operator labels (merged over the agent's own)",
          parameters: [idParam],
          requestBody: {
            required: true,
            content: json(z.strictObject({ labels: nodeLabelsSchema }), 'input'),
          },
          responses: {
            '200': { description: 'The node', content: json(nodeViewSchema) },
            '400': error('Invalid labels'),
            '404': error('Unknown node'),
          },
        },
      },
      ...accessPaths(),
      ...registryPaths(),
      ...stackPaths(),
      ...volumePaths(),
      ...execPaths(),
      ...imagePaths(),
      '/metrics': {
        get: {
          summary: 'Prometheus metrics of the whole cluster, in the text format (any role)',
          responses: { '200': { description: 'text/plain; version=0.0.4' } },
        },
      },
      ...sessionPaths(),
      '/healthz': {
        get: {
          summary: 'Liveness (no token needed)',
          security: [],
          responses: { '200': { description: 'OK' } },
        },
      },
    },
  };
}
