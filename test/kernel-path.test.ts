/**
 * The kernel data path on one real engine, with host processes on the ports it serves: the README
 * quickstart (a service on the API's own port, the API on 0.0.0.0) reaches the service by name;
 * services on 22 and 53 work while host processes hold those ports on the wildcard address, and
 * so does discovery with a resolver of the host's on 0.0.0.0:53; a published port a host process
 * holds is refused and reported with its owner; the rules outlive `skiff up`, a restart removes
 * what is stale, and `skiff agent --cleanup` removes the rest.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { decode } from 'dns-packet';
import { serviceVip } from '../src/model/addressing.ts';
import { type ServiceView, serviceViewSchema } from '../src/model/views.ts';
import { chainPrefix } from '../src/net/data-plane/netfilter-rules.ts';
import { queryBytes } from '../src/net/dns/dns-test-fixture.ts';
import { TcpFrameReader, tcpFrame } from '../src/net/dns/tcp-framing.ts';
import { execIn } from './support/docker.ts';
import { eventually } from './support/eventually.ts';
import { SkiffCluster } from './support/skiff-cluster.ts';

const run = promisify(execFile);
let skiff: SkiffCluster;
let clientId: string;
const hostServers: (Server | UdpSocket)[] = [];

async function view(name: string): Promise<ServiceView> {
  return serviceViewSchema.parse((await skiff.api('GET', `/api/services/${name}`)).body);
}

async function deploy(body: Record<string, unknown>): Promise<void> {
  const response = await skiff.api('POST', '/api/deploy', { image: 'skiff-demo:v1', ...body });
  assert.ok(response.status === 201 || response.status === 200, JSON.stringify(response.body));
}

async function converged(name: string): Promise<ServiceView> {
  return await eventually(
    `${name} running`,
    async () => {
      const v = await view(name);
      return v.status === 'running' && v.containers.length === v.replicas && v.containers.every((c) => c.id)
        ? v
        : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
}

/** A host process on 0.0.0.0:port that answers every connection with `text`; false if the port is taken. */
async function hostTcp(port: number, text: string): Promise<boolean> {
  const server = createServer((socket) => socket.end(`HTTP/1.0 200 OK\r\n\r\n${text}\n`));
  const ok = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '0.0.0.0', () => resolve(true));
  });
  if (ok) hostServers.push(server);
  return ok;
}

/** A "resolver" of the host's on 0.0.0.0:53/udp that answers every query with garbage. */
async function hostUdp53(): Promise<boolean> {
  const socket = createSocket('udp4');
  socket.on('message', (_message, peer) => socket.send('wrong server', peer.port, peer.address));
  const ok = await new Promise<boolean>((resolve) => {
    socket.once('error', () => resolve(false));
    socket.bind(53, '0.0.0.0', () => resolve(true));
  });
  if (ok) hostServers.push(socket);
  return ok;
}

async function ourChains(): Promise<string[]> {
  const prefix = chainPrefix(skiff.clusterId);
  const { stdout } = await run('iptables-save', []);
  return stdout
    .split('\n')
    .filter((l) => l.startsWith(`:${prefix}`))
    .map((l) => l.slice(1).split(' ')[0] ?? '');
}

function get(url: string, id = clientId): Promise<{ ok: boolean; out: string }> {
  return execIn(id, `TIMEOUT=3 http-get ${url}`);
}

describe('the kernel data path on one host', { timeout: 300_000 }, () => {
  before(async () => {
    skiff = await SkiffCluster.start('up', { listen: '0.0.0.0' });
    try {
      await deploy({ name: 'client' });
      const client = await converged('client');
      clientId = client.containers[0]?.id ?? '';
    } catch (error) {
      console.error(skiff.output.slice(-40).join('\n'));
      throw error;
    }
  });
  after(async () => {
    if (process.exitCode) console.error(skiff?.output.slice(-40).join('\n'));
    for (const server of hostServers) server.close();
    await skiff?.stop();
  });

  test('the quickstart: a service on the API’s own port is reached by name, not the API', async () => {
    const port = skiff.port;
    await deploy({
      name: 'api-server',
      replicas: 2,
      env: { PORT: String(port) },
      ports: [{ container_port: port }],
    });
    const v = await converged('api-server');
    const seen = new Set<string>();
    await eventually('both replicas answer at api-server', async () => {
      const { ok, out } = await get(`http://api-server:${port}/`);
      assert.doesNotMatch(out, /no route/, 'the Skiff API answered instead of the service');
      if (ok) seen.add(out.trim());
      return seen.size === 2;
    });
    assert.deepEqual([...seen].sort(), [
      'hello from api-server-0 version v1',
      'hello from api-server-1 version v1',
    ]);
    // A replica reaching its own service, which may land on itself.
    const self = v.containers[0]?.id ?? '';
    for (let i = 0; i < 6; i++) {
      const { ok, out } = await get(`http://api-server:${port}/`, self);
      assert.ok(ok, out);
      assert.match(out, /hello from api-server-[01] version v1/);
    }
  });

  test('services on 22 and 53 work while host processes hold them, and so does discovery', async () => {
    // A real sshd on 22 is the case to test; otherwise a process of ours stands in for it.
    await hostTcp(22, 'host process on 22');
    await hostTcp(53, 'host process on 53');
    await hostUdp53();
    await deploy({ name: 'ssh', env: { PORT: '22' }, ports: [{ container_port: 22 }] });
    await deploy({ name: 'dns', env: { PORT: '53' }, ports: [{ container_port: 53 }] });
    await converged('ssh');
    await converged('dns');
    for (const name of ['ssh', 'dns']) {
      const port = name === 'ssh' ? 22 : 53;
      const { ok, out } = await eventually(`${name} answers`, async () => {
        const answer = await get(`http://${name}:${port}/`);
        return answer.ok ? answer : undefined;
      });
      assert.ok(ok);
      assert.equal(out.trim(), `hello from ${name}-0 version v1`);
    }
    // The only replica reaching its own service lands on itself: hairpin, masqueraded.
    const ssh = (await view('ssh')).containers[0]?.id ?? '';
    const hairpin = await get('http://ssh:22/', ssh);
    assert.ok(hairpin.ok, hairpin.out);
    assert.equal(hairpin.out.trim(), 'hello from ssh-0 version v1');
    const lookup = await execIn(clientId, 'nslookup ssh.skiff');
    assert.ok(lookup.ok, lookup.out);
    const vip = serviceVip(
      skiff.pool,
      skiff.allocation('network', 'default'),
      skiff.allocation('service', 'ssh'),
    );
    assert.match(lookup.out, new RegExp(`Address: ${vip.replaceAll('.', '\\.')}`));
    // Over TCP too (a resolver's retry after a truncated answer), past the host process on tcp:53.
    const framed = tcpFrame(queryBytes('ssh.skiff', 'A', { id: 4242 }));
    const escaped = [...framed].map((byte) => `\\${byte.toString(8).padStart(3, '0')}`).join('');
    const overTcp = await execIn(
      clientId,
      `printf '${escaped}' | nc -w 2 $(awk '/^nameserver/ {print $2; exit}' /etc/resolv.conf) 53 | xxd -p`,
    );
    assert.ok(overTcp.ok, overTcp.out);
    const read = new TcpFrameReader().push(Buffer.from(overTcp.out.replace(/\s/g, ''), 'hex'));
    assert.ok(read.kind === 'messages' && read.messages[0], `no DNS reply over TCP: ${overTcp.out}`);
    const reply = decode(read.messages[0]);
    assert.deepEqual(
      [reply.id, reply.answers?.map((answer) => (answer as { data?: unknown }).data)],
      [4242, [vip]],
    );
  });

  test('a published port a host process holds is refused and reported with its owner', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '0.0.0.0', resolve));
    hostServers.push(holder);
    const address = holder.address();
    assert.ok(address && typeof address === 'object');
    const port = address.port;
    await deploy({ name: 'pub', ports: [{ container_port: 8080, host_port: port }] });
    await converged('pub');
    const event = await eventually('the conflict is reported', async () => {
      const events = (await skiff.api('GET', '/api/events')).body as { message: string }[];
      return events.find((e) => e.message.includes(`port ${port}/tcp is held by`));
    });
    assert.match(
      event.message,
      new RegExp(
        `pub: not publishing port ${port}/tcp is held by node \\(pid ${process.pid}\\) on 0\\.0\\.0\\.0`,
      ),
    );
    const rules = (await run('iptables-save', ['-t', 'nat'])).stdout;
    assert.doesNotMatch(rules, new RegExp(`--dport ${port} `), 'no rule takes the port');
    // The service itself is still reachable by name (once its httpd listens: it has no check).
    const byName = await eventually('pub answers by name', async () => {
      const answer = await get('http://pub:8080/');
      return answer.ok ? answer : undefined;
    });
    assert.match(byName.out, /hello from pub-0/);
  });

  test('rules outlive skiff up; a restart removes what is stale; --cleanup removes the rest', async () => {
    const port = skiff.port;
    const vip = serviceVip(
      skiff.pool,
      skiff.allocation('network', 'default'),
      skiff.allocation('service', 'api-server'),
    );
    await skiff.kill('server');
    // The VIP by address (DNS is the agent's, gone with it): the kernel still carries it.
    const during = await get(`http://${vip}:${port}/`);
    assert.ok(during.ok, during.out);
    assert.match(during.out, /hello from api-server-[01]/);
    const stale = `${chainPrefix(skiff.clusterId)}SEP-DEADBEEF00`;
    await run('iptables', ['-t', 'nat', '-N', stale]);
    await skiff.startServer();
    await eventually(
      'the stale chain is gone after the restart',
      async () => !(await ourChains()).includes(stale),
    );
    assert.ok((await ourChains()).length > 0);
    // A restarted server pushes endpoints before its agent has reported the replicas ready, so the
    // name can be refused for a moment (see the notes); it serves again once they are.
    const after = await eventually('api-server answers by name after the restart', async () => {
      const answer = await get(`http://api-server:${port}/`);
      return /hello from api-server-[01]/.test(answer.out) ? answer : undefined;
    });
    assert.match(after.out, /hello from api-server-[01]/);

    await skiff.kill('server');
    const cleanup = await skiff.cli(['agent', '--cleanup', '--data-dir', join(skiff.dataDir, 'agent')]);
    assert.equal(cleanup.code, 0, cleanup.stderr);
    assert.deepEqual(await ourChains(), []);
    const { stdout } = await run('iptables-save', []);
    assert.doesNotMatch(
      stdout,
      new RegExp(`-j ${chainPrefix(skiff.clusterId)}`),
      'no jump into them is left',
    );
    assert.equal((await get(`http://${vip}:${port}/`)).ok, false, 'the VIP no longer leads anywhere');
  });
});
