/**
 * The end of `deploy` and `scale` without `--detach`: waits for convergence with a progress line
 * on stderr (stdout keeps only the outcome, for scripts) and prints the service's `ps` row.
 */
import { serviceViewSchema } from '../model/views.ts';
import { type ApiClient, servicePath } from './api-client.ts';
import { printLines } from './output.ts';
import { ProgressLine } from './progress-line.ts';
import { formatServiceSummary } from './service-tables.ts';
import { waitForService } from './wait-for-service.ts';

export interface WaitLimit {
  readonly name: string;
  readonly timeoutMs: number;
  readonly timeoutText: string;
  readonly expectedRevision?: number;
}

export async function waitAndReport(client: ApiClient, limit: WaitLimit): Promise<void> {
  const service = await waitForService({
    ...limit,
    fetchService: () => client.get(servicePath(limit.name), serviceViewSchema),
    progress: new ProgressLine(process.stderr),
  });
  printLines([formatServiceSummary(service)]);
}
