/**
 * A real private registry for tests: Debian's `docker-registry` (`/usr/bin/docker-registry`, the
 * distribution registry v2) with htpasswd (bcrypt) basic auth and TLS from a test CA, its data on
 * tmpfs (`/dev/shm/skiff-registry-…`), on a free port, stopped by PID.
 *
 * Engines trust it through `/etc/docker/certs.d/HOST:PORT/ca.crt`, which dockerd reads at every
 * pull (no restart). The lab's engines run in network namespaces only, so they read the same
 * `/etc/docker/certs.d`: a registry started on `Lab.gateway` (`startRegistry({ address:
 * Lab.gateway })`, once the lab is up) is trusted and reachable by every lab host's engine.
 *
 * A whole run shares one on loopback: when SKIFF_TEST_REGISTRY names a running one (`HOST:PORT`,
 * with SKIFF_TEST_REGISTRY_CA the CA's PEM file; CI starts it, `test/support/registry-serve.ts`)
 * it is used as it is; otherwise the first caller of `sharedRegistry` starts one that stops when
 * the process exits. Credentials are fixed (`REGISTRY_USERNAME`/`REGISTRY_PASSWORD`): the
 * htpasswd line is a precomputed bcrypt hash, since Node's crypto has no bcrypt.
 *
 *   const registry = await sharedRegistry();
 *   const { reference, digest } = await pushImage(registry, 'skiff-demo:v1', 'reg-web/app:v1');
 *   // reference = '127.0.0.1:PORT/reg-web/app:v1', absent from the local engine again
 */
import type { ChildProcess } from 'node:child_process';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { createCa, issueServingCertificate } from '../../src/security/certificates.ts';
import { eventually } from './eventually.ts';

export const REGISTRY_BINARY = process.env.SKIFF_REGISTRY_BINARY ?? '/usr/bin/docker-registry';
export const REGISTRY_USERNAME = 'skiff-test';
export const REGISTRY_PASSWORD = 'skiff-test-registry-password';
/**
 * bcrypt (cost 5, `$2b$`) of REGISTRY_PASSWORD. Cost 5, not the usual 10+: the registry checks
 * the hash on every request, and one pull is a dozen requests on 2 shared cores. Made with
 * `python3 -c 'import crypt; print(crypt.crypt(PW, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=32)))'`.
 */
const PASSWORD_BCRYPT = '$2b$05$9Vt1EpzeF7WL/LR65Mr5Q.V3.F.b.L4p6bcwWa1HhrTgSCxHGa4Wa';
const CERTS_D = '/etc/docker/certs.d';

export interface TestRegistry {
  /** `ADDRESS:PORT`, the registry part of image references (`${host}/repo:tag`). */
  readonly host: string;
  readonly username: string;
  readonly password: string;
  /** The test CA engines and clients trust it by. */
  readonly caPem: string;
  /** Stops the process, removes its data and the engines' trust; a shared one is left alone. */
  stop(): Promise<void>;
}

export interface StartRegistryOptions {
  /** The address to listen on: loopback by default, `Lab.gateway` for the lab's engines. */
  readonly address?: string;
}

/** A registry this process started: its process, and the files `stop` would remove. */
export interface StartedRegistry extends TestRegistry {
  readonly process: ChildProcess;
  /** Removes the data, certificates and the engines' trust (synchronously, for an exit hook). */
  removeFiles(): void;
}

let started = 0;

export async function startRegistry({
  address = '127.0.0.1',
}: StartRegistryOptions = {}): Promise<StartedRegistry> {
  const id = `${process.pid}-${started++}-${Date.now().toString(36)}`;
  const dir = `/dev/shm/skiff-registry-${id}`;
  mkdirSync(`${dir}/data`, { recursive: true });
  const port = await freePortOn(address);
  const host = `${address}:${port}`;
  const now = Date.now();
  const dayMs = 24 * 3600_000;
  const ca = await createCa(`registry-test-${id}`, now, dayMs);
  const serving = await issueServingCertificate({ ca, names: [address], now, lifetimeMs: dayMs });
  writeFileSync(`${dir}/cert.pem`, serving.certPem);
  writeFileSync(`${dir}/key.pem`, serving.keyPem, { mode: 0o600 });
  writeFileSync(`${dir}/htpasswd`, `${REGISTRY_USERNAME}:${PASSWORD_BCRYPT}\n`);
  // JSON is YAML: the registry reads it as its config file.
  const config = {
    version: 0.1,
    log: { level: 'error', accesslog: { disabled: true } },
    storage: {
      filesystem: { rootdirectory: `${dir}/data` },
      delete: { enabled: true },
      cache: { blobdescriptor: 'inmemory' },
    },
    http: {
      addr: host,
      secret: randomBytes(16).toString('hex'),
      tls: { certificate: `${dir}/cert.pem`, key: `${dir}/key.pem` },
    },
    auth: { htpasswd: { realm: 'skiff-test', path: `${dir}/htpasswd` } },
  };
  writeFileSync(`${dir}/config.yml`, JSON.stringify(config, null, 2));
  trustCa(host, ca.certPem);

  // Its output goes to a file, not a pipe: a pipe closed while it runs on (the shared instance
  // outlives nothing that reads it) would kill it with SIGPIPE at its next log line.
  const logFile = `${dir}/registry.log`;
  const log = openSync(logFile, 'a');
  const child: ChildProcess = spawn(REGISTRY_BINARY, ['serve', `${dir}/config.yml`], {
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  const lastLog = () => {
    try {
      return readFileSync(logFile, 'utf8').slice(-4000);
    } catch {
      return '';
    }
  };
  const removeFiles = () => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(`${CERTS_D}/${host}`, { recursive: true, force: true });
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGKILL');
      await exited;
    }
    removeFiles();
  };
  try {
    await eventually(
      `registry ${host} answering`,
      async () => {
        if (child.exitCode !== null)
          throw new Error(`docker-registry exited ${child.exitCode}: ${lastLog()}`);
        return (await v2Status(host, ca.certPem)) === 401;
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    host,
    username: REGISTRY_USERNAME,
    password: REGISTRY_PASSWORD,
    caPem: ca.certPem,
    stop,
    process: child,
    removeFiles,
  };
}

let shared: Promise<TestRegistry> | undefined;

/**
 * The run's shared registry on loopback: SKIFF_TEST_REGISTRY (+ SKIFF_TEST_REGISTRY_CA) if set,
 * else one started now for this process (stopped at its exit). Tests push under repositories of
 * their own (`reg-<test>/…`).
 */
export function sharedRegistry(): Promise<TestRegistry> {
  shared ??= (async () => {
    const given = process.env.SKIFF_TEST_REGISTRY;
    if (given) {
      const caFile = process.env.SKIFF_TEST_REGISTRY_CA;
      if (!caFile)
        throw new Error('SKIFF_TEST_REGISTRY is set without SKIFF_TEST_REGISTRY_CA (the CA PEM file)');
      const caPem = readFileSync(caFile, 'utf8');
      trustCa(given, caPem);
      return {
        host: given,
        username: REGISTRY_USERNAME,
        password: REGISTRY_PASSWORD,
        caPem,
        stop: async () => {},
      };
    }
    const registry = await startRegistry();
    // The registry must not keep the test process alive; it dies with it.
    registry.process.unref();
    process.once('exit', () => {
      registry.process.kill('SIGKILL');
      registry.removeFiles();
    });
    const { host, username, password, caPem } = registry;
    return { host, username, password, caPem, stop: async () => {} };
  })();
  return shared;
}

/** dockerd trusts `host` by this CA from the next pull on (it reads certs.d at each connection). */
function trustCa(host: string, caPem: string): void {
  mkdirSync(`${CERTS_D}/${host}`, { recursive: true });
  writeFileSync(`${CERTS_D}/${host}/ca.crt`, caPem);
}

export interface PushedImage {
  /** `HOST/repository:tag` */
  readonly reference: string;
  /** The manifest digest the registry stored (`sha256:…`). */
  readonly digest: string;
  /** `HOST/repository@sha256:…` */
  readonly pinned: string;
}

/**
 * Pushes a local image of this machine's engine into the registry as `repositoryTag` (`repo:tag`),
 * logged in with a Docker config of its own (root's `~/.docker` is not touched), then removes the
 * registry's tag and digest references from the engine again so it has to pull them (the layers
 * stay, under the local image's own name; `keepLocal` keeps the references).
 */
export async function pushImage(
  registry: TestRegistry,
  localImage: string,
  repositoryTag: string,
  { keepLocal = false }: { keepLocal?: boolean } = {},
): Promise<PushedImage> {
  const reference = `${registry.host}/${repositoryTag}`;
  const configDir = `/dev/shm/skiff-registry-docker-config-${process.pid}`;
  mkdirSync(configDir, { recursive: true });
  await run(
    'docker',
    ['--config', configDir, 'login', registry.host, '--username', registry.username, '--password-stdin'],
    registry.password,
  );
  await run('docker', ['tag', localImage, reference]);
  const pushed = await run('docker', ['--config', configDir, 'push', reference]);
  const digest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed)?.[1];
  if (!digest) throw new Error(`docker push ${reference} printed no digest:\n${pushed}`);
  const repository = reference.slice(0, reference.lastIndexOf(':'));
  const pinned = `${repository}@${digest}`;
  // The push left the digest as a RepoDigest too: without both gone the engine would find it.
  if (!keepLocal) for (const name of [reference, pinned]) await removeLocalImage(name);
  return { reference, digest, pinned };
}

/** Untags (or removes) `reference` in this machine's engine; no error when it is absent. */
export async function removeLocalImage(reference: string): Promise<void> {
  await run('docker', ['image', 'rm', reference]).catch((error: unknown) => {
    if (!String(error).includes('No such image')) throw error;
  });
}

function run(command: string, args: readonly string[], stdin?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      { timeout: 120_000, maxBuffer: 4 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error)
          reject(new Error(`${command} ${args.join(' ')} failed: ${stderr.trim() || error.message}`));
        else resolve(stdout);
      },
    );
    if (stdin !== undefined) child.stdin?.end(stdin);
  });
}

/** The status of `GET /v2/` (401 once the registry serves and asks for credentials). */
function v2Status(host: string, caPem: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const request = httpsRequest(`https://${host}/v2/`, { ca: caPem, timeout: 1000 }, (response) => {
      response.resume();
      resolve(response.statusCode);
    });
    request.on('error', () => resolve(undefined));
    request.on('timeout', () => request.destroy());
    request.end();
  });
}

/** A port free on `address` (the lab bridge's address is not loopback). */
export async function freePortOn(address: string): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, address, () => {
      const bound = server.address();
      const port = typeof bound === 'object' && bound ? bound.port : 0;
      server.close(() => resolve(port));
    });
  });
}
