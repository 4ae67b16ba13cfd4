/**
 * A registry for benches that measure pulls: Debian's `docker-registry` (the distribution
 * registry v2) on a free loopback port, plain HTTP and no auth (dockerd pulls from 127.0.0.0/8
 * without TLS), its data on tmpfs, stopped by PID. Only loopback: nothing leaves the host.
 */
import type { ChildProcess } from 'node:child_process';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { waitUntil } from './wait.ts';

const REGISTRY_BINARY = process.env.SKIFF_REGISTRY_BINARY ?? '/usr/bin/docker-registry';

export interface PlainRegistry {
  /** `127.0.0.1:PORT`, the registry part of image references. */
  readonly host: string;
  /** Tags a local image as `host/repositoryTag`, pushes it, and untags it again; the reference. */
  push(localImage: string, repositoryTag: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startPlainRegistry(): Promise<PlainRegistry> {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const dir = `/dev/shm/skiff-bench-registry-${process.pid}-${port}`;
  mkdirSync(`${dir}/data`, { recursive: true });
  // JSON is YAML: the registry reads it as its config file.
  const config = {
    version: 0.1,
    log: { level: 'error', accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: `${dir}/data` }, cache: { blobdescriptor: 'inmemory' } },
    http: { addr: host },
  };
  writeFileSync(`${dir}/config.yml`, JSON.stringify(config));
  const child: ChildProcess = spawn(REGISTRY_BINARY, ['serve', `${dir}/config.yml`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntil(`registry ${host} answering`, 20_000, 100, async () => {
      if (child.exitCode !== null) throw new Error(`docker-registry exited ${child.exitCode}: ${stderr}`);
      return (await v2Status(host)) === 200 ? true : undefined;
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    host,
    stop,
    async push(localImage, repositoryTag) {
      const reference = `${host}/${repositoryTag}`;
      await run('docker', ['tag', localImage, reference]);
      await run('docker', ['push', reference]);
      await run('docker', ['image', 'rm', reference]);
      return reference;
    },
  };
}

function v2Status(host: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = request(`http://${host}/v2/`, { timeout: 1000 }, (response) => {
      response.resume();
      resolve(response.statusCode);
    });
    req.on('error', () => resolve(undefined));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const bound = server.address();
      const port = typeof bound === 'object' && bound ? bound.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export function run(
  command: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { timeout: 180_000, maxBuffer: 4 * 1024 * 1024, env: { ...process.env, ...env } },
      (error, stdout, stderr) => {
        if (error)
          reject(new Error(`${command} ${args.join(' ')} failed: ${stderr.trim() || error.message}`));
        else resolve(stdout);
      },
    );
  });
}
