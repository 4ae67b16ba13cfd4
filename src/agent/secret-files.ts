/**
 * The agent's secret and config files: written for each task under a tmpfs on the host
 * (`/run/skiff/secrets/tasks/TASK/…`, directory 0700, files 0400 unless the spec says otherwise,
 * owned by the spec's numeric user if it has one) and bind-mounted read-only at their targets, so
 * a value never reaches the node's disk or the container's environment. A task whose values have
 * not come from the server (an assignment restored from disk keeps references only) waits for it.
 *
 * An engine on another host (`--docker-host tcp://…`) cannot mount files of the agent's host, and
 * would mount an empty directory in their place: such an agent does not offer secrets at all
 * (`secretsRefusal`), and refuses a task that uses them with that reason.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { engineOnThisHost } from '../docker/engine-address.ts';
import type { SecretKind } from '../model/secret-ref.ts';
import type { TaskSpec } from '../protocol/messages.ts';

export const DEFAULT_SECRETS_DIR = '/run/skiff/secrets';
const TMPFS_MAGIC = 0x01021994;

export class SecretsUnavailableError extends Error {
  override readonly name = 'SecretsUnavailableError';
}

/** The assignment as it may be written to disk: references, never values (nor registry credentials). */
export function withoutSecretValues(task: TaskSpec): TaskSpec {
  const { secret_files: _values, registry_auth: _auth, ...rest } = task;
  return rest;
}

/**
 * Why an agent whose engine is at `engineAddress` cannot give replicas secrets or configs, or
 * undefined when it can. Copying the files into the container instead (the Engine API's archive
 * upload) would write them to the engine host's disk in clear, in the container's layer.
 */
export function secretsRefusal(engineAddress: string): string | undefined {
  if (engineOnThisHost(engineAddress)) return undefined;
  return (
    `secrets and configs are not offered by this node: its Docker engine (${engineAddress}) is on another host, ` +
    "and the files Skiff mounts into a replica live on a tmpfs of the agent's own host (copying them into the " +
    "container would put them on the engine host's disk in clear); run the agent on the engine's host to use them"
  );
}

export class SecretFileWriter {
  readonly #baseDir: string;
  readonly #refusal: string | undefined;
  #tmpfsReady = false;

  /** `refusal`: this agent cannot give replicas files (secretsRefusal); every task using them fails with it. */
  constructor(baseDir: string = DEFAULT_SECRETS_DIR, refusal?: string) {
    this.#baseDir = baseDir;
    this.#refusal = refusal;
  }

  /** Writes the task's files and returns the engine binds (`HOST:TARGET:ro`); none for a task without any. */
  prepare(task: TaskSpec): string[] {
    const refs: { kind: SecretKind; name: string }[] = [
      ...(task.spec.secrets ?? []).map((r) => ({ kind: 'secret' as const, name: r.name })),
      ...(task.spec.configs ?? []).map((r) => ({ kind: 'config' as const, name: r.name })),
    ];
    if (refs.length === 0) return [];
    if (this.#refusal !== undefined) throw new SecretsUnavailableError(this.#refusal);
    const files = task.secret_files ?? [];
    const missing = refs.filter((r) => !files.some((f) => f.kind === r.kind && f.name === r.name));
    if (missing.length > 0) {
      throw new SecretsUnavailableError(
        `waiting for the server to send ${missing.map((m) => `${m.kind} ${m.name}`).join(', ')} (values are never kept on this node's disk)`,
      );
    }
    this.#ensureTmpfs();
    const dir = this.#taskDir(task.task_id);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const owner = numericOwner(task.spec.user);
    return files.map((file, index) => {
      const path = join(dir, `${file.kind}-${index}`);
      writeFileSync(path, Buffer.from(file.data, 'base64'), { mode: 0o600 });
      if (owner) chownSync(path, owner.uid, owner.gid);
      chmodSync(path, file.mode);
      return `${path}:${file.target}:ro`;
    });
  }

  /** The task's files go with its container. */
  release(taskId: string): void {
    rmSync(this.#taskDir(taskId), { recursive: true, force: true });
  }

  #taskDir(taskId: string): string {
    if (!/^[A-Za-z0-9_-]+$/.test(taskId)) throw new RangeError(`task id ${taskId} is not a plain name`);
    return join(this.#baseDir, 'tasks', taskId);
  }

  /** A tmpfs at the base dir, mounted if it is not one yet: values must never land on a disk. */
  #ensureTmpfs(): void {
    if (this.#tmpfsReady) return;
    mkdirSync(this.#baseDir, { recursive: true, mode: 0o700 });
    chmodSync(this.#baseDir, 0o700);
    if (statfsSync(this.#baseDir).type !== TMPFS_MAGIC) {
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'mode=0700,size=64m', 'skiff-secrets', this.#baseDir], {
          stdio: 'pipe',
        });
      } catch (error) {
        throw new SecretsUnavailableError(
          `secrets need a tmpfs at ${this.#baseDir} and mounting one failed (${String((error as { stderr?: Buffer }).stderr ?? error).trim()}): run the agent as root, or mount one there`,
        );
      }
      if (statfsSync(this.#baseDir).type !== TMPFS_MAGIC)
        throw new SecretsUnavailableError(`${this.#baseDir} is still not a tmpfs after mounting one`);
    }
    this.#tmpfsReady = true;
  }
}

function numericOwner(user: string | undefined): { uid: number; gid: number } | undefined {
  const match = user === undefined ? null : /^(\d+)(?::(\d+))?$/.exec(user);
  if (!match?.[1]) return undefined;
  const uid = Number(match[1]);
  return { uid, gid: match[2] === undefined ? uid : Number(match[2]) };
}
