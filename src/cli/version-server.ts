/**
 * The server's part of `skiff version`: `GET /api/version`, within a few seconds. An unreachable
 * server is said on stderr and is not an error (null): the client's part still answers. It uses
 * node:http rather than fetch and the API client: undici and the API's schemas would double the
 * command's cold start (about 60 and 30 ms), and this asks for one small object.
 */
import type { IncomingMessage } from 'node:http';
import { versionViewSchema } from '../model/version-view.ts';
import { type ConnectionFlags, processConnectionSources, resolveConnection } from './connection.ts';
import type { VersionReport } from './version-command.ts';

/** A server that does not answer this fast is reported as unreachable. */
const SERVER_TIMEOUT_MS = 3000;

export async function serverVersion(flags: ConnectionFlags): Promise<VersionReport['server']> {
  const connection = resolveConnection(flags, processConnectionSources());
  const url = new URL('/api/version', `${connection.serverUrl}/`);
  try {
    const secure = url.protocol === 'https:';
    if (secure && connection.caPem !== undefined) {
      (await import('./cluster-trust.ts')).trustClusterCa(connection.caPem);
    }
    const { request } = secure ? await import('node:https') : await import('node:http');
    const headers: Record<string, string> = { accept: 'application/json' };
    if (connection.token !== undefined) headers.authorization = `Bearer ${connection.token}`;
    const body = await new Promise<string>((resolve, reject) => {
      const sent = request(url, { headers, timeout: SERVER_TIMEOUT_MS }, (response: IncomingMessage) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () => {
          const status = response.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve(text);
          else
            reject(
              new Error(
                `the server answered ${status}${status === 401 ? ' (pass --token or SKIFF_TOKEN)' : ''}`,
              ),
            );
        });
        response.on('error', reject);
      });
      sent.on('timeout', () => sent.destroy(new Error(`no answer within ${SERVER_TIMEOUT_MS / 1000} s`)));
      sent.on('error', reject);
      sent.end();
    });
    const parsed = versionViewSchema.safeParse(JSON.parse(body));
    if (!parsed.success) throw new Error('the server answered /api/version in an unknown shape');
    return { url: connection.serverUrl, ...parsed.data };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const reason =
      code === 'ECONNREFUSED'
        ? 'not reachable (connection refused)'
        : error instanceof Error
          ? error.message
          : String(error);
    process.stderr.write(`Server: ${connection.serverUrl}: ${reason}\n`);
    return null;
  }
}
