/**
 * Where the Docker engine is. Without `--docker-host`, dockerode (docker-modem) reads the
 * environment itself, as the docker CLI does: DOCKER_HOST (unix://, tcp://, ssh://),
 * DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, DOCKER_CLIENT_TIMEOUT, SSH_AUTH_SOCK. With `--docker-host`,
 * `dockerOptionsFor` maps the address to docker-modem's options by the same rules it applies to
 * DOCKER_HOST, so a flag and the variable mean the same thing. Pure: the environment and the file
 * reader are passed in.
 */
import { join } from 'node:path';
import type Docker from 'dockerode';
import { SSH_TRANSPORT_LEFT_OUT, sshTransportIncluded } from '../build/build-info.ts';

export interface EngineEnvironment {
  readonly env: Readonly<Record<string, string | undefined>>;
  readFile(path: string): Buffer;
}

/** `--docker-host` is not an engine address we can use. */
export class EngineAddressError extends Error {
  override readonly name = 'EngineAddressError';
}

/**
 * The options for `new Docker(...)`; undefined means "none", so docker-modem reads the
 * environment. Every key docker-modem would take from DOCKER_HOST is set (to undefined when
 * unused), because it merges the environment's defaults under the options given.
 */
export function dockerOptionsFor(
  host: string | undefined,
  environment: EngineEnvironment,
): Docker.DockerOptions | undefined {
  const address = host?.trim();
  // The single executable leaves the ssh transport out (a native addon): say so before dialling.
  const named = address || environment.env.DOCKER_HOST?.trim();
  if (named?.startsWith('ssh://') && !sshTransportIncluded()) {
    throw new EngineAddressError(
      `${address ? '--docker-host' : 'DOCKER_HOST'} ${named}: ${SSH_TRANSPORT_LEFT_OUT}`,
    );
  }
  if (!address) return undefined;
  const none = { host: undefined, port: undefined, username: undefined, socketPath: undefined };
  if (address.startsWith('unix://')) {
    const socketPath = address.slice('unix://'.length);
    if (!socketPath.startsWith('/')) {
      throw new EngineAddressError(`--docker-host ${address}: a unix socket needs an absolute path`);
    }
    return { ...none, socketPath };
  }
  const url = URL.parse(address.includes('//') ? address : `tcp://${address}`);
  if (url === null || url.hostname === '' || !['tcp:', 'http:', 'https:', 'ssh:'].includes(url.protocol)) {
    throw new EngineAddressError(
      `--docker-host ${address}: expected unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT]`,
    );
  }
  const { env } = environment;
  if (url.protocol === 'ssh:') {
    return {
      ...none,
      protocol: 'ssh',
      host: url.hostname,
      port: url.port || '22',
      username: decodeURIComponent(url.username) || undefined,
      sshOptions: { agent: env.SSH_AUTH_SOCK },
    };
  }
  // docker-modem's rule for DOCKER_HOST: TLS when DOCKER_TLS_VERIFY=1 or on Docker's TLS port.
  const tls = url.protocol === 'https:' || env.DOCKER_TLS_VERIFY === '1' || url.port === '2376';
  const options: Docker.DockerOptions = {
    ...none,
    protocol: tls ? 'https' : 'http',
    host: url.hostname,
    // Docker's own defaults; docker-modem would dial port 80 with none.
    port: url.port || (tls ? '2376' : '2375'),
  };
  const certPath = env.DOCKER_CERT_PATH;
  if (tls && certPath) {
    options.ca = environment.readFile(join(certPath, 'ca.pem'));
    options.cert = environment.readFile(join(certPath, 'cert.pem'));
    options.key = environment.readFile(join(certPath, 'key.pem'));
  }
  return options;
}

/** How an engine's address reads in messages: `unix:///var/run/docker.sock`, `tcp://h:2375`. */
export function describeEngineAddress(modem: {
  readonly socketPath?: unknown;
  readonly host?: unknown;
  readonly port?: unknown;
  readonly protocol?: unknown;
  readonly username?: unknown;
}): string {
  if (typeof modem.host === 'string' && modem.host !== '') {
    const scheme = modem.protocol === 'ssh' ? 'ssh' : modem.protocol === 'https' ? 'tcp+tls' : 'tcp';
    const user = typeof modem.username === 'string' && modem.username !== '' ? `${modem.username}@` : '';
    const port = typeof modem.port === 'string' || typeof modem.port === 'number' ? `:${modem.port}` : '';
    return `${scheme}://${user}${modem.host}${port}`;
  }
  // Without DOCKER_HOST docker-modem picks ~/.docker/run/docker.sock if it exists, else this.
  return typeof modem.socketPath === 'string' ? `unix://${modem.socketPath}` : 'unix:///var/run/docker.sock';
}

/**
 * Whether the engine at `address` (as `describeEngineAddress` writes it) runs on this host: a
 * unix socket, or TCP/SSH to a loopback name. Files the agent makes on its own host (secrets on
 * its tmpfs) can be bind-mounted only by an engine on the same host.
 */
export function engineOnThisHost(address: string): boolean {
  if (address.startsWith('unix://') || address.startsWith('npipe://')) return true;
  const url = URL.parse(address.replace(/^tcp\+tls:/, 'tcp:'));
  if (url === null) return false;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
