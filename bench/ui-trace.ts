/**
 * `node bench/ui-trace.ts`: where the dashboard's long tasks go. The bench:ui page (the shipped
 * dashboard against the stand-in stream server) under the same load, with a Chromium trace
 * (devtools.timeline + the V8 sampling profiler) for `--seconds`; then, for every main-thread
 * task over 50 ms, what it was made of (script by function, style, layout, paint, GC), summed.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { build } from 'vite';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../test/support/chromium.ts';
import { UiStreamServer } from './harness/ui-stream-server.ts';

const ROOT = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '30' },
    services: { type: 'string', default: '100' },
    out: { type: 'string' },
    'long-ms': { type: 'string', default: '50' },
    from: { type: 'string' },
    minify: { type: 'string', default: 'false' },
  },
});
const LONG_MS = Number(values['long-ms']);

interface TraceEvent {
  name: string;
  cat: string;
  ph: string;
  ts: number;
  dur?: number;
  pid: number;
  tid: number;
  id?: string;
  args?: Record<string, unknown>;
}

const buffer = values.from ? readFileSync(values.from) : await record();

async function record(): Promise<Buffer> {
  const outDir = mkdtempSync(join(tmpdir(), 'skiff-ui-trace-'));
  await build({
    configFile: join(ROOT, 'web/vite.config.ts'),
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true, minify: values.minify === 'true' },
  });
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  const server = new UiStreamServer({
    distDir: outDir,
    services: Number(values.services),
    replicasPerService: 10,
    updatesPerReplicaPerSecond: 10,
    probeIntervalMs: 200,
    token: 't',
  });
  const url = await server.start();
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(url);
  await page.fill('#token', 't');
  await page.click('button[type=submit]');
  await page.waitForSelector('[data-service="svc-000"]');
  server.run();
  await new Promise((done) => setTimeout(done, 3000));
  await browser.startTracing(page, {
    categories: [
      'devtools.timeline',
      'disabled-by-default-devtools.timeline',
      'v8.execute',
      'v8',
      'disabled-by-default-v8.cpu_profiler',
      'blink.user_timing',
    ],
  });
  await new Promise((done) => setTimeout(done, Number(values.seconds) * 1000));
  const buffer = await browser.stopTracing();
  server.pause();
  await context.close();
  await server.stop();
  await browser.close();
  rmSync(outDir, { recursive: true, force: true });
  if (values.out) writeFileSync(values.out, buffer);
  return buffer;
}

const trace = JSON.parse(buffer.toString('utf8')) as { traceEvents: TraceEvent[] } | TraceEvent[];
const events = Array.isArray(trace) ? trace : trace.traceEvents;
// The renderer's main thread: where CrRendererMain is named.
const main = events.find((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain');
if (!main) throw new Error('no renderer main thread in the trace');
const onMain = events.filter((e) => e.pid === main.pid && e.tid === main.tid);
const tasks = onMain.filter(
  (e) =>
    e.ph === 'X' &&
    (e.name === 'RunTask' || e.name === 'ThreadControllerImpl::RunTask') &&
    (e.dur ?? 0) > LONG_MS * 1000,
);

// Sampled stacks: ProfileChunk events carry nodes (callFrames) and samples with time deltas.
const nodes = new Map<number, { name: string; parent?: number }>();
const samples: { ts: number; node: number }[] = [];
for (const e of events) {
  if (e.name !== 'ProfileChunk' || e.pid !== main.pid) continue;
  const data = (e.args?.data ?? {}) as {
    cpuProfile?: {
      nodes?: {
        id: number;
        parent?: number;
        callFrame: { functionName: string; url?: string; lineNumber: number };
      }[];
      samples?: number[];
    };
    timeDeltas?: number[];
  };
  for (const n of data.cpuProfile?.nodes ?? []) {
    const file = (n.callFrame.url ?? '').split('/').at(-1) ?? '';
    nodes.set(n.id, {
      name: `${n.callFrame.functionName || '(anonymous)'} ${file}:${n.callFrame.lineNumber}`,
      parent: n.parent,
    });
  }
  let ts = samples.at(-1)?.ts ?? 0;
  const profileStart = events.find((p) => p.name === 'Profile' && p.pid === main.pid);
  if (samples.length === 0)
    ts = Number((profileStart?.args?.data as { startTime?: number } | undefined)?.startTime ?? 0);
  const deltas = data.timeDeltas ?? [];
  (data.cpuProfile?.samples ?? []).forEach((node, i) => {
    ts += deltas[i] ?? 0;
    samples.push({ ts, node });
  });
}

const kinds = new Map<string, number>();
const functions = new Map<string, number>();
const inclusive = new Map<string, number>();
for (const task of tasks) {
  const from = task.ts;
  const to = task.ts + (task.dur ?? 0);
  for (const e of onMain) {
    if (e.ph !== 'X' || e.ts < from || e.ts >= to || e === task) continue;
    if (
      [
        'FunctionCall',
        'EvaluateScript',
        'UpdateLayoutTree',
        'Layout',
        'Paint',
        'PrePaint',
        'Layerize',
        'MinorGC',
        'MajorGC',
        'V8.GC_SCAVENGER',
        'V8.GC_MARK_COMPACTOR',
        'ParseHTML',
        'RunMicrotasks',
        'FireAnimationFrame',
        'TimerFire',
        'EventDispatch',
        'HitTest',
        'UpdateLayer',
        'Commit',
        'v8.run',
        'V8.GCFinalizeMC',
        'V8.GCScavenger',
        'BlinkGC.AtomicPhase',
      ].includes(e.name)
    )
      kinds.set(e.name, (kinds.get(e.name) ?? 0) + (e.dur ?? 0) / 1000);
  }
  for (const s of samples) {
    if (s.ts < from || s.ts >= to) continue;
    const leaf = nodes.get(s.node)?.name ?? '?';
    functions.set(leaf, (functions.get(leaf) ?? 0) + 1);
    const seen = new Set<string>();
    for (let id: number | undefined = s.node; id !== undefined; id = nodes.get(id)?.parent) {
      const name = nodes.get(id)?.name ?? '?';
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + 1);
    }
  }
}
const sampleMs =
  samples.length > 1 ? ((samples.at(-1)?.ts ?? 0) - (samples[0]?.ts ?? 0)) / 1000 / samples.length : 0;
const durations = tasks.map((t) => Math.round((t.dur ?? 0) / 1000)).sort((a, b) => b - a);
const allTasks = onMain.filter(
  (e) => e.ph === 'X' && (e.name === 'RunTask' || e.name === 'ThreadControllerImpl::RunTask'),
);
const busyMs = allTasks.reduce((sum, t) => sum + (t.dur ?? 0), 0) / 1000;
console.log(
  `${tasks.length} tasks over ${LONG_MS} ms in ${values.seconds} s: ${durations.slice(0, 20).join(', ')} ms; main thread busy ${Math.round(busyMs)} ms (${((busyMs / (Number(values.seconds) * 1000)) * 100).toFixed(0)}%) ; ${samples.length} samples`,
);
const top = (map: Map<string, number>, n: number) => [...map].sort((a, b) => b[1] - a[1]).slice(0, n);
console.log('\nin the long tasks, by event (ms, nested events overlap):');
for (const [k, v] of top(kinds, 20)) console.log(`  ${v.toFixed(0).padStart(7)}  ${k}`);
console.log('\nself time in them, by function (ms, sampled):');
for (const [k, v] of top(functions, 30)) console.log(`  ${(v * sampleMs).toFixed(0).padStart(6)}  ${k}`);
console.log('\ninclusive time in them (ms, sampled):');
for (const [k, v] of top(inclusive, 60)) console.log(`  ${(v * sampleMs).toFixed(0).padStart(6)}  ${k}`);
