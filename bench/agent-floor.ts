/**
 * The agent's floor and what its modules cost, without Docker (issue 9): a bare Node 24 with the
 * agent's options from bin/node-flags, then a fresh process per case that imports some of the
 * agent's modules (nothing is started), waits, collects twice and reads /proc/self/smaps_rollup.
 * Each row is the median of `--runs` processes; Δ is against the bare process for the second
 * row and against the second row (one .ts file loaded) for the rest. Anon is the heap,
 * code and zones; file is mapped pages (the node binary's touched text, mostly).
 *
 * `--role server` does the same for `skiff server` on SQLite: the server's options, and rows for
 * the modules its process loads (skiff-server.ts and the store) and those it should not need.
 *
 *   npm run bench:agent-floor [-- --runs 5] [-- --role server]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNodeFlags } from '../src/build/node-flags.ts';

const root = new URL('..', import.meta.url);
const file = (path: string) => new URL(path, root).href;

/** What each case imports: a bare specifier is a package, a path is one of ours. */
const DEFERRED = file('src/docker/deferred-requires.ts');
/**
 * Rows after the second put main.ts's deferred requires in first (as `skiff agent` does), so
 * their Δ over that row is the module's own cost; the second row is what stripping the types of
 * one small .ts file costs (Node's amaro, WebAssembly), paid once by any agent from a checkout.
 */
const CASES: { name: string; imports: string[]; cold?: boolean }[] = [
  { name: 'bare node', imports: [] },
  { name: 'one .ts file (deferred-requires)', imports: [] },
  { name: 'one .ts file, no compile cache (amaro)', imports: [], cold: true },
  {
    name: 'node:http, https, tls, zlib (builtins)',
    imports: ['node:http', 'node:https', 'node:tls', 'node:zlib'],
  },
  { name: 'zod', imports: ['zod'] },
  { name: 'zod/mini', imports: ['zod/mini'] },
  { name: 'ws', imports: ['ws'] },
  { name: 'dockerode (deferred requires)', imports: ['dockerode'] },
  {
    name: 'protocol (messages, read-message)',
    imports: [file('src/protocol/messages.ts'), file('src/protocol/read-message.ts')],
  },
  { name: 'docker engine (src/docker)', imports: [file('src/docker/docker-engine.ts')] },
  { name: 'agent.ts', imports: [file('src/agent/agent.ts')] },
  { name: 'skiff agent entry (process-commands)', imports: [file('src/cli/process-commands.ts')] },
];

/** `--role server`: what `skiff server` on SQLite loads, after the same deferred requires. */
const SERVER_CASES: { name: string; imports: string[]; cold?: boolean }[] = [
  { name: 'bare node', imports: [] },
  { name: 'one .ts file (deferred-requires)', imports: [] },
  { name: 'etcd3 (and its gRPC, protobufjs)', imports: ['etcd3'] },
  { name: 'yaml', imports: ['yaml'] },
  { name: 'dockerode (deferred requires)', imports: ['dockerode'] },
  { name: '@peculiar/x509 (and reflect-metadata)', imports: ['reflect-metadata', '@peculiar/x509'] },
  { name: 'hono, @hono/node-server', imports: ['hono', '@hono/node-server'] },
  { name: 'prom-client', imports: ['prom-client'] },
  {
    name: 'skiff server (skiff-server.ts, store-url)',
    imports: [
      file('src/cli/process-commands.ts'),
      file('src/server/skiff-server.ts'),
      file('src/store/store-url.ts'),
    ],
  },
];

const runsArg = process.argv.indexOf('--runs');
const runs = runsArg === -1 ? 3 : Number(process.argv[runsArg + 1]);
const roleArg = process.argv.indexOf('--role');
const role = roleArg === -1 ? 'agent' : process.argv[roleArg + 1];
if (role !== 'agent' && role !== 'server') throw new Error(`--role: agent or server, got ${role}`);
const cacheDir = mkdtempSync(join(tmpdir(), 'skiff-agent-floor-'));
const flags = [...readNodeFlags(role), '--expose-gc', '--disable-warning=ExperimentalWarning'];
// The malloc arenas bin/skiff gives the role: one for the server, two for the agent.
const arenas = role === 'server' ? '1' : '2';

interface Sample {
  rss: number;
  anon: number;
  file: number;
  heapUsed: number;
}

function sample(imports: string[], deferred: boolean, cold = false): Sample {
  const probe = `
    ${deferred ? `(await import(${JSON.stringify(DEFERRED)})).installDeferredRequires();` : ''}
    for (const m of ${JSON.stringify(imports)}) await import(m);
    await new Promise((r) => setTimeout(r, 300));
    gc(); gc();
    await new Promise((r) => setTimeout(r, 100));
    const text = (await import('node:fs')).readFileSync('/proc/self/smaps_rollup', 'utf8');
    const fields = Object.fromEntries(text.split('\\n').map((l) => l.split(/:\\s+/)).filter((f) => f.length === 2).map(([k, v]) => [k, parseInt(v, 10)]));
    process.stdout.write(JSON.stringify({ rss: fields.Rss, anon: fields.Anonymous,
      file: fields.Rss - fields.Anonymous, heapUsed: process.memoryUsage().heapUsed / 1024 }));
  `;
  const out = execFileSync(process.execPath, [...flags, '--input-type=module', '-e', probe], {
    cwd: new URL('.', root).pathname,
    encoding: 'utf8',
    timeout: 60_000,
    // As bin/skiff runs it: a compile cache (warmed by the first, discarded run of each case) and its malloc arenas.
    env: {
      ...process.env,
      NODE_OPTIONS: '',
      MALLOC_ARENA_MAX: arenas,
      NODE_COMPILE_CACHE: cold ? '' : cacheDir,
    },
  });
  return JSON.parse(out) as Sample;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

const mb = (kb: number) => (kb / 1024).toFixed(1).padStart(6);
const delta = (kb: number) => `${kb >= 0 ? '+' : ''}${(kb / 1024).toFixed(1)}`.padStart(6);

console.log(
  `node ${process.version}, ${flags.join(' ')}, compile cache warm, MALLOC_ARENA_MAX=${arenas}, median of ${runs}, load ${(
    await import('node:os')
  )
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log(
  `${'case'.padEnd(40)} ${'RSS'.padStart(6)} ${'anon'.padStart(6)} ${'file'.padStart(6)} ${'heap'.padStart(6)} ${'ΔRSS'.padStart(6)} ${'Δanon'.padStart(6)} ${'Δfile'.padStart(6)}  (MB)`,
);
let bare: Sample | undefined;
let floorTs: Sample | undefined;
for (const [index, c] of (role === 'server' ? SERVER_CASES : CASES).entries()) {
  sample(c.imports, index > 0, c.cold);
  const samples = Array.from({ length: runs }, () => sample(c.imports, index > 0, c.cold));
  const m: Sample = {
    rss: median(samples.map((s) => s.rss)),
    anon: median(samples.map((s) => s.anon)),
    file: median(samples.map((s) => s.file)),
    heapUsed: median(samples.map((s) => s.heapUsed)),
  };
  bare ??= m;
  if (index === 1) floorTs = m;
  const base = index > (role === 'server' ? 1 : 2) && floorTs ? floorTs : bare;
  console.log(
    `${c.name.padEnd(40)} ${mb(m.rss)} ${mb(m.anon)} ${mb(m.file)} ${mb(m.heapUsed)} ${delta(m.rss - base.rss)} ${delta(m.anon - base.anon)} ${delta(m.file - base.file)}`,
  );
}
rmSync(cacheDir, { recursive: true, force: true });
