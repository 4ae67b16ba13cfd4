/**
 * Removing what a bench created on an engine, by label: listing labelled containers, force-removing
 * them (a bounded number at once), waiting until they are gone (on one engine or on every lab
 * host's), the end-of-run sweep of a run's clusters until nothing was left for a second, and
 * removing a cluster's networks. A cleanup failure is reported and fails the run, but never stops
 * the rest of the cleanup (`cleanupStep`).
 */
import type Docker from 'dockerode';
import { Semaphore } from '../../src/agent/semaphore.ts';
import { LABELS } from '../../src/docker/container-engine.ts';
import { errorText } from './report.ts';
import { waitFor, waitUntil } from './wait.ts';

/** How long a removal may take before the bench gives up on it. */
export const REMOVAL_TIMEOUT_MS = 60_000;

/** The label selecting everything of one cluster (a Skiff server's, or a raw floor's). */
export const clusterLabel = (clusterId: string): string => `${LABELS.cluster}=${clusterId}`;

/** The labels selecting one service's containers in one cluster. */
export const serviceLabels = (clusterId: string, service: string): string[] => [
  clusterLabel(clusterId),
  `${LABELS.service}=${service}`,
];

/** The containers carrying all of `labels` (k=v), in any state. */
export async function listLabelled(
  docker: Docker,
  labels: readonly string[],
): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [...labels] } });
}

/** Force-removes the containers carrying all of `labels`, `concurrency` at once; how many it found. */
export async function forceRemoveAll(
  docker: Docker,
  labels: readonly string[],
  concurrency: number,
): Promise<number> {
  const containers = await listLabelled(docker, labels);
  const semaphore = new Semaphore(concurrency);
  await Promise.all(
    containers.map((c) =>
      semaphore.run(async () => {
        try {
          await docker.getContainer(c.Id).remove({ force: true });
        } catch (error) {
          const status = (error as { statusCode?: unknown }).statusCode;
          // Gone already, or being removed: both are what we want.
          if (status !== 404 && status !== 409) throw error;
        }
      }),
    ),
  );
  return containers.length;
}

export interface WaitGoneOptions {
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
  /** Stop at once on Ctrl-C (the default); false for a wait that is itself part of a cleanup. */
  readonly interruptible?: boolean;
}

/** Until no container carrying all of `labels` is left on any of `engines`. */
export async function waitGone(
  engines: Docker | readonly Docker[],
  labels: readonly string[],
  what: string,
  { timeoutMs = REMOVAL_TIMEOUT_MS, intervalMs = 50, interruptible = true }: WaitGoneOptions = {},
): Promise<void> {
  const all = Array.isArray(engines) ? engines : [engines as Docker];
  const wait = interruptible ? waitUntil : waitFor;
  await wait(what, timeoutMs, intervalMs, async () => {
    const lists = await Promise.all(all.map((docker) => listLabelled(docker, labels)));
    return lists.every((list) => list.length === 0) ? true : undefined;
  });
}

/**
 * Force-removes every container of `clusterIds`, again and again until none was found for a full
 * second: operations an agent had already queued may still create containers after it stopped.
 */
export async function sweepClusters(
  docker: Docker,
  clusterIds: readonly string[],
  concurrency: number,
): Promise<void> {
  let emptySince: number | undefined;
  await waitFor('the benchmark containers to be cleaned up', REMOVAL_TIMEOUT_MS, 200, async () => {
    let found = 0;
    for (const clusterId of clusterIds)
      found += await forceRemoveAll(docker, [clusterLabel(clusterId)], concurrency);
    if (found > 0) emptySince = undefined;
    else emptySince ??= performance.now();
    return emptySince !== undefined && performance.now() - emptySince >= 1000 ? true : undefined;
  });
}

/** One pass over a cluster's networks (its containers must be gone); errors are ignored. */
export async function removeClusterNetworks(docker: Docker, clusterId: string): Promise<void> {
  for (const network of await docker.listNetworks({ filters: { label: [clusterLabel(clusterId)] } })) {
    await docker
      .getNetwork(network.Id)
      .remove()
      .catch(() => {});
  }
}

/** A cluster's networks, removed and retried until none is left (bounded, 20 s). */
export async function removeClusterNetworksUntilGone(docker: Docker, clusterId: string): Promise<void> {
  await waitFor('the benchmark networks to be removed', 20_000, 250, async () => {
    const networks = await docker.listNetworks({ filters: { label: [clusterLabel(clusterId)] } });
    for (const network of networks) {
      try {
        await docker.getNetwork(network.Id).remove();
      } catch (error) {
        const status = (error as { statusCode?: unknown }).statusCode;
        // 404: gone already; 403/409: still in use for a moment; retried.
        if (status !== 404 && status !== 403 && status !== 409) throw error;
      }
    }
    return networks.length === 0 ? true : undefined;
  });
}

/** Runs one step of a cleanup: a failure is printed as `cleanup: …` and fails the run (exit 1). */
export async function cleanupStep(step: () => Promise<void>): Promise<void> {
  try {
    await step();
  } catch (error) {
    process.stderr.write(`cleanup: ${errorText(error)}\n`);
    process.exitCode = 1;
  }
}
