/**
 * `npm run bench:heap-summary -- FILE.heapsnapshot`: what a V8 heap snapshot holds (issue 9: what
 * the server's heap at 1,000 nodes is), without DevTools. For example the snapshot that
 * `bench:control-plane -- --nodes 1000 --server-node-args='--heapsnapshot-signal=SIGUSR2
 * --diagnostic-dir=/tmp/snap' --idle-signal SIGUSR2` has the server write at idle. It prints:
 *
 * - the totals: nodes, edges, self size, and what the root does not reach (garbage the snapshot
 *   kept; V8 collects before it writes one, so this is mostly small);
 * - self size by node type (object, string, code, closure, array, hidden: V8's internals, …);
 * - the top groups (--top, default 30) by self size: strings by type, closures as one group,
 *   everything else by type and constructor name, each with its retained size: what its nodes
 *   dominate, each counted once (bench/harness/heap-snapshot.ts), so `Map` retained is what the
 *   process's Maps alone keep alive;
 * - the strings by holder: a string's first retainer that is neither a string nor one of V8's roots
 *   (the string table), and the edge from it (module sources show as `system / Script`'s
 *   `source`; a string several objects share counts once, with the first);
 * - the single objects of the largest retained size (strings, arrays and V8's roots left out: they
 *   say little), each with its owner path, three steps up the dominator tree.
 *
 *   npm run bench:heap-summary -- FILE [--top 30] [--no-dominators]
 *
 * The file is parsed as one JSON text, so a snapshot over V8's longest string (~512 MB) does not
 * load; 1,000 nodes' server is about 150 MB. Give Node room: the script asks for 4 GB of old space.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { GroupRow } from './harness/heap-snapshot.ts';
import {
  dominators,
  groupName,
  groupRows,
  heapGraph,
  isString,
  ownerPath,
  retainers,
  scriptSources,
  stringHolderKey,
} from './harness/heap-snapshot.ts';
import { grouped, out, runMain, table } from './harness/report.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    top: { type: 'string', default: '30' },
    'no-dominators': { type: 'boolean', default: false },
  },
});

const MB = 1024 * 1024;
const mb = (bytes: number): string => (Number.isNaN(bytes) ? '-' : (bytes / MB).toFixed(2));

function rows(list: readonly GroupRow[], top: number, total: number): string[][] {
  return [...list]
    .sort((a, b) => b.selfSize - a.selfSize)
    .slice(0, top)
    .map((r) => [
      r.group,
      grouped(r.count),
      mb(r.selfSize),
      `${((r.selfSize / total) * 100).toFixed(1)}%`,
      mb(r.retained),
    ]);
}

async function main(): Promise<void> {
  const file = positionals[0];
  if (file === undefined)
    throw new Error('usage: bench:heap-summary -- FILE.heapsnapshot [--top 30] [--no-dominators]');
  const top = Number(values.top);
  const started = performance.now();
  const graph = heapGraph(JSON.parse(readFileSync(file, 'utf8')));
  const parsedMs = performance.now() - started;
  const doms = values['no-dominators'] ? undefined : dominators(graph);
  const domMs = performance.now() - started - parsedMs;
  let total = 0;
  let unreached = 0;
  let unreachedCount = 0;
  for (let i = 0; i < graph.nodeCount; i++) {
    const size = graph.selfSizes[i] ?? 0;
    total += size;
    if (doms && doms.idom[i] === -1) {
      unreached += size;
      unreachedCount++;
    }
  }
  out(
    `${file}: ${grouped(graph.nodeCount)} nodes, ${grouped(graph.edgeTypes.length)} edges, self size ${mb(total)} MB`,
  );
  out(
    `parsed in ${(parsedMs / 1000).toFixed(1)} s${doms ? `, dominators in ${(domMs / 1000).toFixed(1)} s` : ''}`,
  );
  if (doms) out(`not reached from the root: ${grouped(unreachedCount)} nodes, ${mb(unreached)} MB`);
  const header = ['group', 'count', 'self MB', 'share', 'retained MB'];

  out('\nby node type');
  const byType = groupRows(graph, (i) => graph.nodeTypeNames[graph.types[i] ?? 0] ?? '?', doms);
  out(table(header, rows(byType, byType.length, total), { rule: true }));

  out(`\ntop ${top} groups by self size (type and constructor name)`);
  out(
    table(
      header,
      rows(
        groupRows(graph, (i) => groupName(graph, i), doms),
        top,
        total,
      ),
      { rule: true },
    ),
  );

  if (doms) {
    let strings = 0;
    for (let i = 0; i < graph.nodeCount; i++) if (isString(graph, i)) strings += graph.selfSizes[i] ?? 0;
    out(
      `\nstrings (${mb(strings)} MB) by holder: the first retainer neither a string nor a V8 root, and its edge`,
    );
    const back = retainers(graph);
    const byHolder = groupRows(graph, (i) => stringHolderKey(graph, back, i)).filter((r) => r.group !== '');
    out(
      table(
        ['holder  edge', 'count', 'MB', 'share'],
        // No retained column: a string holds nothing.
        rows(byHolder, top, strings).map((row) => row.slice(0, 4)),
        { rule: true },
      ),
    );

    const sources = scriptSources(graph);
    let sourceTotal = 0;
    for (const r of sources) sourceTotal += r.selfSize;
    out(`\nscript sources (${mb(sourceTotal)} MB, ${grouped(sources.length)} scripts) by package`);
    const byPackage = new Map<string, { count: number; bytes: number }>();
    for (const r of sources) {
      const key = packageOf(r.group);
      const row = byPackage.get(key) ?? { count: 0, bytes: 0 };
      row.count++;
      row.bytes += r.selfSize;
      byPackage.set(key, row);
    }
    out(
      table(
        ['package', 'scripts', 'MB'],
        [...byPackage]
          .sort((a, b) => b[1].bytes - a[1].bytes)
          .slice(0, top)
          .map(([key, r]) => [key, grouped(r.count), mb(r.bytes)]),
        { rule: true },
      ),
    );

    out(`\ntop ${top} objects by retained size (no strings, arrays, code or V8's roots), with their owners`);
    const skip = new Set([
      'string',
      'concatenated string',
      'sliced string',
      'array',
      'code',
      'synthetic',
      'hidden',
    ]);
    const candidates: number[] = [];
    for (let i = 1; i < graph.nodeCount; i++) {
      if (doms.idom[i] === -1 || skip.has(graph.nodeTypeNames[graph.types[i] ?? 0] ?? '')) continue;
      if ((doms.retained[i] ?? 0) >= 64 * 1024) candidates.push(i);
    }
    candidates.sort((a, b) => (doms.retained[b] ?? 0) - (doms.retained[a] ?? 0));
    out('retained MB  object  ← owner path (up the dominator tree)');
    for (const i of candidates.slice(0, top)) {
      out(
        `${mb(doms.retained[i] ?? 0).padStart(11)}  ${groupName(graph, i)}  ← ${ownerPath(graph, doms, i, 3)}`,
      );
    }
  }
}

/** Where a script's name (its URL or path) comes from: a package, a folder of src/, or Node's own. */
export function packageOf(script: string): string {
  if (script.startsWith('node:') || !script.includes('/')) return '(node built-ins)';
  const modules = script.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const parts = script.slice(modules + '/node_modules/'.length).split('/');
    return `node_modules/${parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1] ?? ''}` : (parts[0] ?? '')}`;
  }
  const src = script.lastIndexOf('/src/');
  if (src >= 0) return `src/${script.slice(src + '/src/'.length).split('/')[0] ?? ''}`;
  return script.length > 60 ? `…${script.slice(-60)}` : script;
}

runMain('heap-summary', main);
