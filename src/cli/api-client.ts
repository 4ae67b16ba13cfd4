/**
 * The HTTP client of the Skiff REST API: adds the bearer token, turns a refused connection into a
 * `ConnectionError` and a non-2xx answer into an `ApiError` carrying the server's error body, and
 * validates every 2xx body (or NDJSON line) against the API's schemas before anyone reads it.
 * `fetch` is injected so tests can answer without sockets.
 */
import type { z } from 'zod';
import type { ErrorBody } from '../model/views.ts';
import { errorBodySchema } from '../model/views.ts';
import type { Connection } from './connection.ts';
import { ApiError, ConnectionError, ResponseShapeError } from './errors.ts';
import { parseJson, readLines } from './ndjson.ts';

type Fetch = typeof globalThis.fetch;

export class ApiClient {
  readonly #connection: Connection;
  readonly #fetch: Fetch;
  /** The server that answered last (an index into `serverUrls`). */
  #current = 0;

  constructor(connection: Connection, fetchImpl: Fetch = globalThis.fetch) {
    this.#connection = connection;
    this.#fetch = fetchImpl;
  }

  get<T>(path: string, schema: z.ZodType<T>): Promise<T> {
    return this.#request('GET', path, schema);
  }

  post<T>(path: string, body: unknown, schema: z.ZodType<T>): Promise<T> {
    return this.#request('POST', path, schema, body);
  }

  put<T>(path: string, body: unknown, schema: z.ZodType<T>): Promise<T> {
    return this.#request('PUT', path, schema, body);
  }

  delete<T>(path: string, schema: z.ZodType<T>): Promise<T> {
    return this.#request('DELETE', path, schema);
  }

  /**
   * GETs an NDJSON stream and yields each line, validated. Ends quietly when `signal` aborts
   * (the user pressed Ctrl-C) or the server closes the response.
   */
  async *stream<T>(path: string, schema: z.ZodType<T>, signal: AbortSignal): AsyncGenerator<T> {
    const response = await this.#send('GET', path, undefined, signal);
    if (response === undefined || response.body === null) return;
    try {
      for await (const line of readLines(response.body)) {
        const parsed = parseJson(line);
        // A stream the server ends early (a reader too far behind) says why in a last error line.
        const ended = parsed.ok ? streamEnd(parsed.value) : undefined;
        if (ended) throw new ApiError(response.status, ended.error, [...(ended.details ?? [])]);
        yield validate(schema, parsed, `GET ${path}`);
      }
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof ResponseShapeError || error instanceof ApiError) throw error;
      throw new ConnectionError(
        this.#connection.serverUrl,
        `lost the connection to the Skiff server at ${this.#connection.serverUrl}`,
        { cause: error },
      );
    }
  }

  async #request<T>(method: string, path: string, schema: z.ZodType<T>, body?: unknown): Promise<T> {
    const response = await this.#send(method, path, body);
    if (response === undefined) throw new Error('request aborted without a signal');
    return validate(schema, parseJson(await response.text()), `${method} ${path}`);
  }

  /** The 2xx response, or undefined when `signal` aborted the request. */
  async #send(
    method: string,
    path: string,
    body: unknown,
    signal?: AbortSignal,
  ): Promise<Response | undefined> {
    const { serverUrls, token } = this.#connection;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response | undefined;
    // One cluster's servers, tried in order from the last that answered: a server that cannot be
    // reached is skipped; one whose certificate does not verify stops everything.
    for (let tried = 0; tried < serverUrls.length && response === undefined; tried++) {
      const at = (this.#current + tried) % serverUrls.length;
      const serverUrl = serverUrls[at] ?? '';
      try {
        response = await this.#fetch(`${serverUrl}${path}`, {
          method,
          headers,
          body: body === undefined ? null : JSON.stringify(body),
          signal: signal ?? null,
        });
        this.#current = at;
      } catch (error) {
        if (signal?.aborted) return undefined;
        const tlsCode = certificateErrorCode(error);
        if (tlsCode !== undefined) {
          throw new ConnectionError(
            serverUrl,
            `the Skiff server at ${serverUrl} was not verified (${tlsCode}): pass the cluster CA with --ca FILE (the server's DIR/ca.crt), SKIFF_CA, or a context (skiff context add NAME --server URL --ca FILE)`,
            { cause: error },
          );
        }
        if (tried === serverUrls.length - 1) {
          const where =
            serverUrls.length > 1 ? `any of ${serverUrls.join(', ')}` : `the Skiff server at ${serverUrl}`;
          throw new ConnectionError(serverUrl, `cannot reach ${where} (is "skiff up" running?)`, {
            cause: error,
          });
        }
      }
    }
    if (response === undefined) throw new Error('no server to send the request to');
    if (!response.ok) throw await this.#apiError(response);
    return response;
  }

  async #apiError(response: Response): Promise<ApiError> {
    const parsed = errorBodySchema.safeParse(parseJsonOrUndefined(await response.text()));
    const details = parsed.success ? [...(parsed.data.details ?? [])] : [];
    if (response.status === 401 && this.#connection.token === undefined) {
      details.push(
        `no token was sent: pass --token, set SKIFF_TOKEN, or create ${this.#connection.tokenFile}`,
      );
    }
    const message = parsed.success
      ? parsed.data.error
      : `the server answered ${response.status} ${response.statusText}`.trim();
    return new ApiError(response.status, message, details);
  }
}

/** An `{ "error": ... }` line, which no streamed item (event, log line) ever is. */
function streamEnd(value: unknown): ErrorBody | undefined {
  if (typeof value !== 'object' || value === null || !('error' in value)) return undefined;
  const parsed = errorBodySchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** The TLS verification failure under a fetch error (undici puts it in `cause`), if that is what it was. */
function certificateErrorCode(error: unknown): string | undefined {
  const code = (error as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  if (typeof code !== 'string') return undefined;
  return /CERT|SELF_SIGNED|UNABLE_TO_(VERIFY|GET_ISSUER)|ALTNAME/.test(code) ? code : undefined;
}

function parseJsonOrUndefined(text: string): unknown {
  const parsed = parseJson(text);
  return parsed.ok ? parsed.value : undefined;
}

function validate<T>(schema: z.ZodType<T>, parsed: ReturnType<typeof parseJson>, request: string): T {
  if (!parsed.ok) throw new ResponseShapeError(`the server's answer to ${request} is not JSON`);
  const result = schema.safeParse(parsed.value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue === undefined || issue.path.length === 0 ? '' : ` at ${issue.path.join('.')}`;
  throw new ResponseShapeError(
    `unexpected answer from the server to ${request}${where}: ${issue?.message ?? 'invalid'}`,
  );
}

/** `/api/services/<name><rest>`, the name escaped so no name can reach another route. */
export function servicePath(name: string, rest = ''): string {
  return `/api/services/${encodeURIComponent(name)}${rest}`;
}
