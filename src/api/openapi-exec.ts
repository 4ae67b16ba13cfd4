/** The OpenAPI path of `skiff exec`'s WebSocket, spread into openapi.ts's document. */
import { z } from 'zod';
import { errorBodySchema } from '../model/views.ts';

const error = (description: string) => ({
  description,
  content: { 'application/json': { schema: z.toJSONSchema(errorBodySchema) } },
});
const param = (name: string, description: string, required = false) => ({
  name,
  in: 'query',
  required,
  description,
  schema: { type: 'string' },
});

export function execPaths(): Record<string, unknown> {
  return {
    '/api/exec': {
      get: {
        summary:
          'Run a command in a replica (a WebSocket upgrade): stdin as binary messages, {"type":"resize"} and {"type":"stdin_end"} as text; output as binary messages whose first byte is 1 (stdout) or 2 (stderr), then {"type":"exit","exit_code","error"}',
        parameters: [
          param('target', 'a replica name (api-server-2) or a service name (any running replica)', true),
          param('cmd', 'the command, one argument per cmd parameter', true),
          param('tty', 'true: a terminal'),
          param('stdin', 'true: the command reads what the client sends'),
          param('user', 'user or uid[:gid]'),
          param('workdir', 'working directory'),
          param('env', 'KEY=VALUE, repeatable'),
          param('cols', 'terminal columns'),
          param('rows', 'terminal rows'),
        ],
        responses: {
          '101': { description: 'Switched to the exec WebSocket' },
          '400': error('Not an upgrade, or an invalid request'),
          '404': error('No such replica or service'),
          '409': error('Not running, its node not connected, or its agent too old to exec'),
        },
      },
    },
  };
}
