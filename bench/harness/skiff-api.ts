/**
 * The benches' client of Skiff's HTTP API: authenticated JSON requests with a per-request timeout,
 * the typed reads they poll (service, services, nodes, node), deploy, and waiting until enough
 * nodes are ready. Errors carry the method, path, status and the start of the body.
 */
import { z } from 'zod';
import type { ServiceSpecInput } from '../../src/model/service-spec.ts';
import type { NodeView, ServiceView } from '../../src/model/views.ts';
import { nodeViewSchema, serviceViewSchema } from '../../src/model/views.ts';
import { waitUntil } from './wait.ts';

export class SkiffApi {
  readonly #url: string;
  readonly #token: string;
  readonly #timeoutMs: number;

  /** `token` is an admin token; `timeoutMs` bounds each request. */
  constructor(url: string, token: string, timeoutMs = 10_000) {
    this.#url = url;
    this.#token = token;
    this.#timeoutMs = timeoutMs;
  }

  async request(method: string, path: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${this.#url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.#token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(this.#timeoutMs),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status}: ${text.slice(0, 300)}`);
    return text === '' ? null : JSON.parse(text);
  }

  async service(name: string): Promise<ServiceView> {
    return serviceViewSchema.parse(await this.request('GET', `/api/services/${name}`));
  }

  async services(): Promise<ServiceView[]> {
    return z.array(serviceViewSchema).parse(await this.request('GET', '/api/services'));
  }

  async nodes(): Promise<NodeView[]> {
    return z.array(nodeViewSchema).parse(await this.request('GET', '/api/nodes'));
  }

  async node(id: string): Promise<NodeView> {
    return nodeViewSchema.parse(await this.request('GET', `/api/nodes/${id}`));
  }

  /** POST /api/deploy; the service view it answers with. */
  async deploy(spec: ServiceSpecInput): Promise<ServiceView> {
    return serviceViewSchema.parse(await this.request('POST', '/api/deploy', spec));
  }

  /** Polls GET /api/nodes (stopping on Ctrl-C) until `enough(number of ready nodes)` holds. */
  async waitReadyNodes(
    what: string,
    timeoutMs: number,
    intervalMs: number,
    enough: (ready: number) => boolean,
  ): Promise<void> {
    await waitUntil(what, timeoutMs, intervalMs, async () => {
      const nodes = await this.nodes();
      return enough(nodes.filter((node) => node.status === 'ready').length) ? true : undefined;
    });
  }
}
