/**
 * The memory floor of N agent connections (issue 9): a bare Node 24 process with the server's
 * flags (bin/node-flags) that only holds N WebSocket connections, set up as the server's agent
 * listener is (first-byte-listener.ts: a TLS server requesting client certificates, the cluster's
 * ECDSA P-256 certificates, the agents' SNI name; ws with noServer, maxPayload 16 MB and no
 * per-message deflate), dialled from a second process over loopback. When the connections are
 * open and the server's RSS has settled, it prints the server process's RSS split by
 * /proc/PID/smaps_rollup and smaps (anonymous, file-backed, the node binary's pages, [heap]),
 * beside the same for a bare Node process and one holding N plain WebSockets.
 *
 *   npm run bench:rss-floor -- [--nodes 1000] [--modes bare,plain,tls]
 *     [--server-env GLIBC_TUNABLES=glibc.malloc.arena_max=2] [--server-node-args=--max-semi-space-size=1]
 *     [--ping-every 4000] [--cpu-window 20000]
 *
 * `--ping-every MS` makes every client ping the server every MS (spread over the interval, as
 * agents told `ping-heartbeat` do: 4 s at 1,000 nodes is 250 pings a second), each answered by
 * ws's pong; the server's CPU (utime + stime, share of one core) is then read over `--cpu-window`:
 * the CPU floor of the agents' beats, which no work of the server's own can go under.
 *
 * `--server-env` and `--server-node-args` apply to the measured (server-side) process of every
 * mode, so a knob's effect on the floor is read off one table. `--server-env SKIFF_FLOOR_SEND_BYTES=N`
 * has the server send each connection three N-byte messages after its hello (what the connection's
 * TLS buffers keep after the agent link's writes: a delta, or a fragment of one);
 * `SKIFF_FLOOR_CLIENT_SEND_BYTES=N` in the bench's own environment has each client send three
 * N-byte messages (what the server's connections keep after the agents' messages).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket, { WebSocketServer } from 'ws';
import { readNodeFlags } from '../src/build/node-flags.ts';
import { CLOCK_TICKS_PER_S, cpuTicks } from './harness/proc.ts';

const MB = 1024 * 1024;
const SETTLE_DEADLINE_MS = 30_000;
const CONNECT_DEADLINE_MS = 120_000;

type Mode = 'bare' | 'plain' | 'tls';

interface Message {
  readonly kind: string;
  readonly [key: string]: unknown;
}

// ---- roles ------------------------------------------------------------------------------------

async function serverRole(mode: Mode, dir: string): Promise<void> {
  let open = 0;
  if (mode !== 'bare') {
    const http = createHttpServer((_, response) => response.end());
    // As agent-gateway.ts makes it.
    const wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024 });
    http.on('upgrade', (request, socket, head) =>
      wss.handleUpgrade(request, socket, head, (ws) => {
        open++;
        ws.on('close', () => open--);
        // SKIFF_FLOOR_SEND_BYTES=N (e.g. by `--server-env`): the server answers each hello with
        // three messages of N bytes, one write after the other, as the agent link sends a delta
        // or a fragment of one (fragmented-sender.ts): what a connection keeps after writes of N.
        const sendBytes = Number(process.env.SKIFF_FLOOR_SEND_BYTES ?? 0);
        ws.once('message', () => {
          if (sendBytes <= 0) return;
          const payload = Buffer.alloc(sendBytes, 0x61);
          let left = 3;
          const next = () => {
            if (left-- > 0) ws.send(payload, { binary: true }, next);
          };
          next();
        });
        ws.on('message', () => {});
      }),
    );
    let port: number;
    if (mode === 'tls') {
      const { createFirstByteListener } = await import('../src/security/first-byte-listener.ts');
      const pem = (name: string) => readFileSync(join(dir, name), 'utf8');
      const served = { key: pem('server.key'), cert: pem('server.crt'), ca: pem('ca.crt') };
      const listener = createFirstByteListener(http, { ...served, agents: served });
      port = await listen(listener.net);
    } else port = await listen(http);
    process.send?.({ kind: 'listening', port });
  } else process.send?.({ kind: 'listening', port: 0 });
  process.on('message', (message: Message) => {
    if (message.kind === 'status') {
      const usage = process.memoryUsage();
      process.send?.({
        kind: 'status',
        open,
        heapTotal: usage.heapTotal,
        heapUsed: usage.heapUsed,
        external: usage.external,
      });
    } else if (message.kind === 'exit') process.exit(0);
  });
}

function listen(server: {
  listen(port: number, host: string, cb: () => void): unknown;
  address(): unknown;
}): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  );
}

async function clientRole(
  mode: Mode,
  dir: string,
  port: number,
  nodes: number,
  pingEveryMs: number,
): Promise<void> {
  const sockets: WebSocket[] = [];
  let options: WebSocket.ClientOptions = {};
  let certs: { key: string; cert: string }[] = [];
  if (mode === 'tls') {
    const { createNodeRequest, issueNodeCertificate } = await import('../src/security/certificates.ts');
    const { AGENT_SERVERNAME } = await import('../src/security/serving-names.ts');
    const ca = {
      keyPem: readFileSync(join(dir, 'ca.key'), 'utf8'),
      certPem: readFileSync(join(dir, 'ca.crt'), 'utf8'),
    };
    const now = Date.now();
    certs = await Promise.all(
      Array.from({ length: nodes }, async (_, i) => {
        const request = await createNodeRequest(`node-${i}`);
        const cert = await issueNodeCertificate({
          ca,
          nodeName: `node-${i}`,
          csrPem: request.csrPem,
          now,
          lifetimeMs: 86_400_000,
        });
        return { key: request.keyPem, cert };
      }),
    );
    // As the agent dials (agent.ts): the cluster CA, the agents' SNI name, no deflate.
    options = {
      ca: ca.certPem,
      servername: AGENT_SERVERNAME,
      perMessageDeflate: false,
    } as unknown as WebSocket.ClientOptions;
  }
  const scheme = mode === 'tls' ? 'wss' : 'ws';
  let opened = 0;
  // A few at a time, as agents arrive, not 1,000 handshakes in one turn.
  for (let i = 0; i < nodes; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, nodes - i) }, (_, k) => {
        const own = certs[i + k];
        const socket = new WebSocket(`${scheme}://127.0.0.1:${port}/agent`, {
          ...options,
          ...(own ?? {}),
          perMessageDeflate: false,
        });
        sockets.push(socket);
        return new Promise<void>((resolve, reject) => {
          socket.once('open', () => {
            opened++;
            // One small frame each way keeps the connection as a live agent's is (a hello).
            socket.send(JSON.stringify({ kind: 'hello', node: `node-${i + k}` }));
            // SKIFF_FLOOR_CLIENT_SEND_BYTES=N (this process's environment): each client then
            // sends three N-byte messages, as agents send `agent.metrics` (7–10 KB) and stats:
            // what the server's connection keeps on its read side (TLS's encrypted-input buffer).
            const clientBytes = Number(process.env.SKIFF_FLOOR_CLIENT_SEND_BYTES ?? 0);
            if (clientBytes > 0) {
              const payload = Buffer.alloc(clientBytes, 0x62);
              for (let n = 0; n < 3; n++) socket.send(payload, { binary: true });
            }
            resolve();
          });
          socket.once('error', reject);
        });
      }),
    );
  }
  if (pingEveryMs > 0)
    sockets.forEach((socket, i) => {
      // Spread over the interval, as agents' beats are (each began at its own welcome).
      setTimeout(() => setInterval(() => socket.ping(), pingEveryMs), (i * pingEveryMs) / sockets.length);
    });
  process.send?.({ kind: 'opened', opened });
  process.on('message', (message: Message) => {
    if (message.kind === 'exit') process.exit(0);
  });
}

// ---- measuring --------------------------------------------------------------------------------

interface Split {
  readonly rss: number;
  readonly anon: number;
  readonly file: number;
  readonly nodeBinary: number;
  readonly brkHeap: number;
  readonly anonMmap: number;
  readonly stacks: number;
}

function split(pid: number, binary: string): Split {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const field = (text: string, name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
  const rss = field(rollup, 'Rss');
  const anon = field(rollup, 'Anonymous');
  let nodeBinary = 0;
  let brkHeap = 0;
  let stacks = 0;
  let anonMmap = 0;
  let current = '';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (header) {
      current = header[1] ?? '';
      continue;
    }
    const m = /^Rss:\s+(\d+) kB/.exec(line);
    if (!m) continue;
    const bytes = Number(m[1]) * 1024;
    if (current === binary) nodeBinary += bytes;
    else if (current === '[heap]') brkHeap += bytes;
    else if (current.startsWith('[stack')) stacks += bytes;
    else if (current === '') anonMmap += bytes;
  }
  return { rss, anon, file: rss - anon, nodeBinary, brkHeap, anonMmap, stacks };
}

function request(child: ChildProcess, kind: string, reply: string, deadlineMs: number): Promise<Message> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no ${reply} from the child within ${deadlineMs} ms`)),
      deadlineMs,
    );
    const onMessage = (message: Message) => {
      if (message.kind !== reply) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(message);
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`the child exited (${code}) before ${reply}`)));
    if (kind !== '') child.send({ kind });
  });
}

/** Polls the server's RSS until three readings 500 ms apart are within 1% (or the deadline). */
async function settle(pid: number, binary: string): Promise<{ split: Split; settled: boolean }> {
  const deadline = Date.now() + SETTLE_DEADLINE_MS;
  const readings: number[] = [];
  for (;;) {
    const now = split(pid, binary);
    readings.push(now.rss);
    const last = readings.slice(-3);
    if (last.length === 3 && Math.max(...last) - Math.min(...last) <= 0.01 * Math.max(...last))
      return { split: now, settled: true };
    if (Date.now() > deadline) return { split: now, settled: false };
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

interface Row {
  readonly mode: Mode;
  readonly split: Split;
  readonly settled: boolean;
  readonly open: number;
  readonly heapTotal: number;
  readonly external: number;
  /** The server's CPU over the window, share of one core (undefined: not measured). */
  readonly cpu: number | undefined;
}

async function measure(
  mode: Mode,
  nodes: number,
  dir: string,
  env: NodeJS.ProcessEnv,
  nodeArgs: string[],
  ping: { readonly everyMs: number; readonly windowMs: number },
): Promise<Row> {
  const self = import.meta.filename;
  const node = process.execPath;
  const binary = realpathSync(node);
  const server = fork(self, ['--role', 'server', '--mode', mode, '--dir', dir], {
    execPath: node,
    execArgv: [...readNodeFlags('server'), ...nodeArgs],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let client: ChildProcess | undefined;
  try {
    const { port } = (await request(server, '', 'listening', 10_000)) as unknown as { port: number };
    if (mode !== 'bare') {
      client = fork(
        self,
        [
          '--role',
          'client',
          '--mode',
          mode,
          '--dir',
          dir,
          '--port',
          String(port),
          '--nodes',
          String(nodes),
          '--ping-every',
          String(ping.everyMs),
        ],
        {
          execPath: node,
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        },
      );
      await request(client, '', 'opened', CONNECT_DEADLINE_MS);
      // The server counts its open sockets; poll it until it holds all N.
      const deadline = Date.now() + CONNECT_DEADLINE_MS;
      for (;;) {
        const status = await request(server, 'status', 'status', 10_000);
        if (status.open === nodes) break;
        if (Date.now() > deadline) throw new Error(`the server holds ${status.open} of ${nodes} connections`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    const settled = await settle(server.pid as number, binary);
    let cpu: number | undefined;
    if (ping.everyMs > 0 && mode !== 'bare') {
      // The pings have been going since the connections opened: a window of them alone.
      const ticks = cpuTicks(server.pid as number);
      const startedAt = performance.now();
      await new Promise((resolve) => setTimeout(resolve, ping.windowMs));
      const elapsedS = (performance.now() - startedAt) / 1000;
      cpu = (cpuTicks(server.pid as number) - ticks) / CLOCK_TICKS_PER_S / elapsedS;
    }
    const status = await request(server, 'status', 'status', 10_000);
    return {
      mode,
      ...settled,
      cpu,
      open: status.open as number,
      heapTotal: status.heapTotal as number,
      external: status.external as number,
    };
  } finally {
    client?.send({ kind: 'exit' });
    server.send({ kind: 'exit' });
    await Promise.all(
      [client, server].map((c) =>
        c && c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined,
      ),
    );
  }
}

async function writeCertificates(dir: string): Promise<void> {
  const { createCa, issueServingCertificate } = await import('../src/security/certificates.ts');
  const now = Date.now();
  const ca = await createCa('rss-floor', now, 86_400_000);
  const serving = await issueServingCertificate({
    ca,
    names: ['127.0.0.1', 'localhost', 'agents.skiff.invalid'],
    now,
    lifetimeMs: 86_400_000,
  });
  writeFileSync(join(dir, 'ca.key'), ca.keyPem);
  writeFileSync(join(dir, 'ca.crt'), ca.certPem);
  writeFileSync(join(dir, 'server.key'), serving.keyPem);
  writeFileSync(join(dir, 'server.crt'), serving.certPem);
}

const mb = (bytes: number) => (bytes / MB).toFixed(1);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      role: { type: 'string' },
      mode: { type: 'string', default: 'tls' },
      dir: { type: 'string', default: '' },
      port: { type: 'string', default: '0' },
      nodes: { type: 'string', default: '1000' },
      modes: { type: 'string', default: 'bare,plain,tls' },
      'server-env': { type: 'string', multiple: true, default: [] },
      'server-node-args': { type: 'string', default: '' },
      'ping-every': { type: 'string', default: '0' },
      'cpu-window': { type: 'string', default: '20000' },
    },
  });
  const ping = { everyMs: Number(values['ping-every']), windowMs: Number(values['cpu-window']) };
  const mode = values.mode as Mode;
  const nodes = Number(values.nodes);
  if (values.role === 'server') return serverRole(mode, values.dir);
  if (values.role === 'client') return clientRole(mode, values.dir, Number(values.port), nodes, ping.everyMs);

  const env: NodeJS.ProcessEnv = {};
  for (const pair of values['server-env']) {
    const at = pair.indexOf('=');
    env[pair.slice(0, at)] = pair.slice(at + 1);
  }
  const nodeArgs = values['server-node-args'].split(/\s+/).filter((a) => a !== '');
  const dir = mkdtempSync(join(tmpdir(), 'skiff-rss-floor-'));
  try {
    await writeCertificates(dir);
    const rows: Row[] = [];
    for (const m of values.modes.split(',') as Mode[])
      rows.push(await measure(m, nodes, dir, env, nodeArgs, ping));
    console.log(
      `rss-floor: N=${nodes}, node ${process.version}, flags ${[...readNodeFlags('server'), ...nodeArgs].join(' ')}` +
        `${
          Object.keys(env).length
            ? `, env ${Object.entries(env)
                .map(([k, v]) => `${k}=${v}`)
                .join(' ')}`
            : ''
        }, load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
    );
    console.log(
      'mode   conns  RSS MB  anon  file  node-bin  [heap]  anon-mmap  stack  V8-heapTotal  external  settled',
    );
    for (const r of rows) {
      const s = r.split;
      console.log(
        `${r.mode.padEnd(6)} ${String(r.open).padStart(5)}  ${mb(s.rss).padStart(6)} ${mb(s.anon).padStart(5)} ${mb(s.file).padStart(5)}  ${mb(s.nodeBinary).padStart(8)}  ${mb(s.brkHeap).padStart(6)}  ${mb(s.anonMmap).padStart(9)}  ${mb(s.stacks).padStart(5)}  ${mb(r.heapTotal).padStart(12)}  ${mb(r.external).padStart(8)}  ${r.settled ? 'yes' : 'NO'}`,
      );
    }
    for (const r of rows)
      if (r.cpu !== undefined)
        console.log(
          `${r.mode}: server CPU ${(100 * r.cpu).toFixed(1)}% of a core over ${ping.windowMs / 1000} s, ` +
            `${Math.round((nodes * 1000) / ping.everyMs)} pings a second in, as many pongs out`,
        );
    const bare = rows.find((r) => r.mode === 'bare');
    const plain = rows.find((r) => r.mode === 'plain');
    const tls = rows.find((r) => r.mode === 'tls');
    if (bare && tls)
      console.log(
        `per mTLS connection over bare: ${((tls.split.rss - bare.split.rss) / nodes / 1024).toFixed(1)} KB`,
      );
    if (plain && tls)
      console.log(
        `TLS's share per connection (tls − plain): ${((tls.split.rss - plain.split.rss) / nodes / 1024).toFixed(1)} KB`,
      );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
