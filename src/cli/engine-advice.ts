/**
 * What `skiff up` and `skiff agent` say when no Docker engine answers: what is wrong, which
 * address was tried and where that address came from, and what to do about it. Pure.
 */
import type { EngineUnreachableError } from '../docker/container-engine.ts';

/** Where the engine address came from, named in the advice. */
export type EngineAddressSource = 'flag' | 'env' | 'default';

const WHAT: Record<string, string> = {
  ENOENT: 'there is no socket there',
  ECONNREFUSED: 'nothing is listening there',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ENOTFOUND: 'unknown host',
  EAI_AGAIN: 'the host name does not resolve',
  EHOSTUNREACH: 'the host cannot be reached',
  ENETUNREACH: 'the network cannot be reached',
  ETIMEDOUT: 'the connection timed out',
};

const SOURCE: Record<EngineAddressSource, string> = {
  flag: 'The address is the one given with --docker-host',
  env: 'The address comes from DOCKER_HOST',
  default: 'That is the default: neither --docker-host nor DOCKER_HOST is set',
};

export function engineUnreachableAdvice(error: EngineUnreachableError, source: EngineAddressSource): string {
  const what = WHAT[error.code] ?? 'no answer';
  const permission = error.code === 'EACCES' || error.code === 'EPERM';
  const fix = permission
    ? 'Run Skiff as root, or add this user to the docker group (then log in again).'
    : 'Is dockerd running? Start it (systemctl start docker, or dockerd as root) and try again.';
  return [
    `cannot reach the Docker engine at ${error.address}: ${what} (${error.code})`,
    `  ${fix}`,
    `  ${SOURCE[source]}; if the engine listens elsewhere, say where:`,
    '    --docker-host unix:///PATH/docker.sock, tcp://HOST:2375 or ssh://USER@HOST (or set DOCKER_HOST)',
  ].join('\n');
}

export function engineAddressSource(
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): EngineAddressSource {
  if (flag !== undefined && flag.trim() !== '') return 'flag';
  return env.DOCKER_HOST ? 'env' : 'default';
}
