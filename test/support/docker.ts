/**
 * Direct Docker access for tests: what really runs, independent of what Skiff says.
 */
import Docker from 'dockerode';
import { removeRules } from '../../src/net/data-plane/netfilter.ts';
import { chainPrefix } from '../../src/net/data-plane/netfilter-rules.ts';

export const docker = new Docker({ socketPath: '/var/run/docker.sock' });

export interface SeenContainer {
  readonly id: string;
  readonly name: string;
  readonly state: string;
  readonly task: string;
  readonly slot: number;
}

export async function containersOf(clusterId: string, service?: string): Promise<SeenContainer[]> {
  const labels = [`skiff.cluster=${clusterId}`];
  if (service) labels.push(`skiff.service=${service}`);
  const list = await docker.listContainers({ all: true, filters: { label: labels } });
  return list.map((c) => ({
    id: c.Id,
    name: (c.Names[0] ?? '').replace(/^\//, ''),
    state: c.State,
    task: c.Labels['skiff.task'] ?? '',
    slot: Number(c.Labels['skiff.slot']),
  }));
}

/**
 * Removes a test cluster's containers, then its networks and volumes (which need their containers gone), and
 * on this machine's own engine the netfilter rules its agent left (they outlive the agent).
 */
export async function removeCluster(clusterId: string, engine: Docker = docker): Promise<void> {
  if (engine === docker) await removeRules(chainPrefix(clusterId)).catch(() => {});
  const label = { label: [`skiff.cluster=${clusterId}`] };
  for (const c of await engine.listContainers({ all: true, filters: label })) {
    await engine
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => {});
  }
  for (const n of await engine.listNetworks({ filters: label })) {
    await engine
      .getNetwork(n.Id)
      .remove()
      .catch(() => {});
  }
  // The cluster's volumes (its agents label them), after the containers that mounted them.
  const { Volumes } = await engine.listVolumes({ filters: label });
  for (const v of Volumes ?? []) {
    await engine
      .getVolume(v.Name)
      .remove()
      .catch(() => {});
  }
}

/** The names of a cluster's volumes on an engine. */
export async function volumesOf(clusterId: string, engine: Docker = docker): Promise<string[]> {
  const { Volumes } = await engine.listVolumes({ filters: { label: [`skiff.cluster=${clusterId}`] } });
  return (Volumes ?? []).map((v) => v.Name).sort();
}

/** Runs `sh -c command` in a container; its stdout and stderr, and whether it exited 0. */
export async function execIn(
  containerId: string,
  command: string,
  engine: Docker = docker,
): Promise<{ ok: boolean; out: string }> {
  const exec = await engine.getContainer(containerId).exec({
    Cmd: ['sh', '-c', command],
    AttachStdout: true,
    AttachStderr: true,
  });
  const stream = await exec.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve());
    stream.on('error', reject);
  });
  const { ExitCode } = await exec.inspect();
  // Strip the engine's 8-byte stream frame headers.
  const raw = Buffer.concat(chunks);
  const parts: Buffer[] = [];
  for (let at = 0; at + 8 <= raw.length; ) {
    const size = raw.readUInt32BE(at + 4);
    parts.push(raw.subarray(at + 8, at + 8 + size));
    at += 8 + size;
  }
  return { ok: ExitCode === 0, out: Buffer.concat(parts).toString('utf8') };
}
