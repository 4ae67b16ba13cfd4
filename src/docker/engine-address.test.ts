import assert from 'node:assert/strict';
import { test } from 'node:test';
import Docker from 'dockerode';
import { DockerEngine } from './docker-engine.ts';
import {
  describeEngineAddress,
  dockerOptionsFor,
  EngineAddressError,
  type EngineEnvironment,
  engineOnThisHost,
} from './engine-address.ts';

function environment(env: Record<string, string> = {}): EngineEnvironment & { read: string[] } {
  const read: string[] = [];
  return {
    env,
    read,
    readFile(path) {
      read.push(path);
      return Buffer.from(`contents of ${path}`);
    },
  };
}

const UNSET = { host: undefined, port: undefined, username: undefined, socketPath: undefined };

test('without --docker-host there are no options: dockerode reads the environment itself', () => {
  assert.equal(dockerOptionsFor(undefined, environment({ DOCKER_HOST: 'ssh://me@box' })), undefined);
  assert.equal(dockerOptionsFor('  ', environment()), undefined);
});

test('a unix socket, overriding any host DOCKER_HOST names', () => {
  assert.deepEqual(dockerOptionsFor('unix:///run/lab/h1.sock', environment()), {
    ...UNSET,
    socketPath: '/run/lab/h1.sock',
  });
  assert.throws(() => dockerOptionsFor('unix://relative.sock', environment()), EngineAddressError);
});

test('tcp without TLS, on Docker port 2375 when none is given', () => {
  assert.deepEqual(dockerOptionsFor('tcp://10.0.0.5', environment()), {
    ...UNSET,
    protocol: 'http',
    host: '10.0.0.5',
    port: '2375',
  });
  assert.deepEqual(dockerOptionsFor('docker.lan:2375', environment()), {
    ...UNSET,
    protocol: 'http',
    host: 'docker.lan',
    port: '2375',
  });
});

test('tcp with TLS: DOCKER_TLS_VERIFY=1 or port 2376, certificates from DOCKER_CERT_PATH', () => {
  const env = environment({ DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/certs' });
  assert.deepEqual(dockerOptionsFor('tcp://docker.lan', env), {
    ...UNSET,
    protocol: 'https',
    host: 'docker.lan',
    port: '2376',
    ca: Buffer.from('contents of /certs/ca.pem'),
    cert: Buffer.from('contents of /certs/cert.pem'),
    key: Buffer.from('contents of /certs/key.pem'),
  });
  const byPort = dockerOptionsFor('tcp://docker.lan:2376', environment());
  assert.equal(byPort?.protocol, 'https');
  assert.equal(byPort?.ca, undefined, 'no DOCKER_CERT_PATH: the system CAs');
  const plain = environment({ DOCKER_CERT_PATH: '/certs' });
  assert.equal(dockerOptionsFor('tcp://docker.lan:2375', plain)?.protocol, 'http');
  assert.deepEqual(plain.read, [], 'certificates are read only for TLS');
});

test('ssh, with the user and the ssh agent of the environment', () => {
  assert.deepEqual(
    dockerOptionsFor('ssh://deploy@docker.lan', environment({ SSH_AUTH_SOCK: '/tmp/agent' })),
    {
      ...UNSET,
      protocol: 'ssh',
      host: 'docker.lan',
      port: '22',
      username: 'deploy',
      sshOptions: { agent: '/tmp/agent' },
    },
  );
});

test('what is not an engine address is refused by name', () => {
  for (const bad of ['ftp://x', 'tcp://', 'http//x:1']) {
    assert.throws(() => dockerOptionsFor(bad, environment()), EngineAddressError, bad);
  }
});

test('docker-modem takes the options as given, whatever DOCKER_HOST says', () => {
  const saved = process.env.DOCKER_HOST;
  process.env.DOCKER_HOST = 'tcp://elsewhere:2375';
  try {
    const options = dockerOptionsFor('unix:///run/lab/h1.sock', environment());
    const modem = new Docker(options).modem as { host?: string; socketPath?: string };
    assert.equal(modem.host, undefined);
    assert.equal(modem.socketPath, '/run/lab/h1.sock');
  } finally {
    if (saved === undefined) delete process.env.DOCKER_HOST;
    else process.env.DOCKER_HOST = saved;
  }
});

test('the engine reads DOCKER_HOST=ssh://… itself when no address is given', () => {
  const saved = process.env.DOCKER_HOST;
  process.env.DOCKER_HOST = 'ssh://deploy@docker.lan:2222';
  try {
    assert.equal(new DockerEngine().address, 'ssh://deploy@docker.lan:2222');
    assert.equal(new DockerEngine('unix:///run/x.sock').address, 'unix:///run/x.sock');
  } finally {
    if (saved === undefined) delete process.env.DOCKER_HOST;
    else process.env.DOCKER_HOST = saved;
  }
});

test('addresses read the way users write them', () => {
  assert.equal(describeEngineAddress({ socketPath: '/var/run/docker.sock' }), 'unix:///var/run/docker.sock');
  assert.equal(describeEngineAddress({ socketPath: () => '' }), 'unix:///var/run/docker.sock');
  assert.equal(describeEngineAddress({ host: 'h', port: '2376', protocol: 'https' }), 'tcp+tls://h:2376');
});

test('an engine is on this host over a unix socket or a loopback name, elsewhere otherwise', () => {
  for (const local of [
    'unix:///var/run/docker.sock',
    'tcp://127.0.0.1:2375',
    'tcp+tls://localhost:2376',
    'ssh://me@127.0.0.2:22',
    'tcp://[::1]:2375',
  ])
    assert.equal(engineOnThisHost(local), true, local);
  for (const remote of [
    'tcp://10.0.0.5:2375',
    'tcp+tls://docker.example:2376',
    'ssh://me@build-1:22',
    'garbage',
  ])
    assert.equal(engineOnThisHost(remote), false, remote);
  // What DockerEngine says of a remote --docker-host is what the agent checks.
  assert.equal(engineOnThisHost(new DockerEngine('tcp://10.0.0.5:2376').address), false);
  assert.equal(engineOnThisHost(new DockerEngine('unix:///run/docker.sock').address), true);
});
