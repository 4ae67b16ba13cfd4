/**
 * A V8 heap snapshot (`.heapsnapshot`, what `--heapsnapshot-signal` and `v8.writeHeapSnapshot`
 * write) read into typed arrays, and what bench/heap-summary.ts prints from it: self size by node
 * type and by group (type and constructor name), each node's immediate dominator and retained
 * size (Lengauer–Tarjan over the edges DevTools counts: no weak edges, shortcuts only from the
 * root), a group's retained size without counting twice what one of its nodes dominates in
 * another, and strings by what holds them (the first retainer that is neither a string nor a V8
 * root, and the edge from it).
 *
 * Pure: it takes the parsed JSON. A snapshot of ~1–2 M nodes and ~5–8 M edges takes a few seconds
 * and a few hundred MB of typed arrays.
 */

export interface HeapGraph {
  readonly nodeCount: number;
  /** Index into nodeTypeNames. */
  readonly types: Uint8Array;
  /** Index into strings. */
  readonly names: Uint32Array;
  readonly selfSizes: Float64Array;
  /** Node i's edges are firstEdge[i] .. firstEdge[i + 1] - 1. */
  readonly firstEdge: Uint32Array;
  readonly edgeTypes: Uint8Array;
  /** A string index for named edges, the index itself for element and hidden edges. */
  readonly edgeNames: Uint32Array;
  /** The node's ordinal (not its offset in the nodes array). */
  readonly edgeTo: Uint32Array;
  readonly strings: readonly string[];
  readonly nodeTypeNames: readonly string[];
  readonly edgeTypeNames: readonly string[];
}

interface RawSnapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[], ...unknown[]];
      edge_fields: string[];
      edge_types: [string[], ...unknown[]];
    };
    node_count: number;
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

function fieldIndex(fields: readonly string[], name: string): number {
  const at = fields.indexOf(name);
  if (at < 0) throw new Error(`heap snapshot: no ${name} field in ${fields.join(',')}`);
  return at;
}

/** The parsed JSON of a .heapsnapshot as typed arrays; the field order is read from its meta. */
export function heapGraph(json: unknown): HeapGraph {
  const raw = json as RawSnapshot;
  const meta = raw.snapshot.meta;
  const nodeFields = meta.node_fields.length;
  const edgeFields = meta.edge_fields.length;
  const nType = fieldIndex(meta.node_fields, 'type');
  const nName = fieldIndex(meta.node_fields, 'name');
  const nSize = fieldIndex(meta.node_fields, 'self_size');
  const nEdges = fieldIndex(meta.node_fields, 'edge_count');
  const eType = fieldIndex(meta.edge_fields, 'type');
  const eName = fieldIndex(meta.edge_fields, 'name_or_index');
  const eTo = fieldIndex(meta.edge_fields, 'to_node');
  const nodeCount = raw.nodes.length / nodeFields;
  const edgeCount = raw.edges.length / edgeFields;
  const types = new Uint8Array(nodeCount);
  const names = new Uint32Array(nodeCount);
  const selfSizes = new Float64Array(nodeCount);
  const firstEdge = new Uint32Array(nodeCount + 1);
  let edges = 0;
  for (let i = 0; i < nodeCount; i++) {
    const at = i * nodeFields;
    types[i] = raw.nodes[at + nType] ?? 0;
    names[i] = raw.nodes[at + nName] ?? 0;
    selfSizes[i] = raw.nodes[at + nSize] ?? 0;
    firstEdge[i] = edges;
    edges += raw.nodes[at + nEdges] ?? 0;
  }
  firstEdge[nodeCount] = edges;
  if (edges !== edgeCount)
    throw new Error(`heap snapshot: nodes count ${edges} edges, the edges array holds ${edgeCount}`);
  const edgeTypes = new Uint8Array(edgeCount);
  const edgeNames = new Uint32Array(edgeCount);
  const edgeTo = new Uint32Array(edgeCount);
  for (let e = 0; e < edgeCount; e++) {
    const at = e * edgeFields;
    edgeTypes[e] = raw.edges[at + eType] ?? 0;
    edgeNames[e] = raw.edges[at + eName] ?? 0;
    edgeTo[e] = (raw.edges[at + eTo] ?? 0) / nodeFields;
  }
  return {
    nodeCount,
    types,
    names,
    selfSizes,
    firstEdge,
    edgeTypes,
    edgeNames,
    edgeTo,
    strings: raw.strings,
    nodeTypeNames: meta.node_types[0],
    edgeTypeNames: meta.edge_types[0],
  };
}

const STRING_TYPES = new Set(['string', 'concatenated string', 'sliced string']);

/** Whether node i is a string (flat, concatenated or sliced). */
export function isString(graph: HeapGraph, i: number): boolean {
  return STRING_TYPES.has(graph.nodeTypeNames[graph.types[i] ?? 0] ?? '');
}

/**
 * The group a node's self size is counted under: strings by their type (a string's name is its
 * text), closures as one group (their names are the functions'), everything else by type and
 * name (an object's name is its constructor's; V8's internals have names such as
 * `system / Context` or `(object elements)`).
 */
export function groupName(graph: HeapGraph, i: number): string {
  const type = graph.nodeTypeNames[graph.types[i] ?? 0] ?? '?';
  if (STRING_TYPES.has(type) || type === 'closure' || type === 'number' || type === 'bigint')
    return `(${type})`;
  const name = graph.strings[graph.names[i] ?? 0] ?? '';
  return type === 'object' ? name : `(${type}) ${name.length > 80 ? `${name.slice(0, 80)}…` : name}`;
}

/** An edge's name as DevTools shows it: `.prop`, `[3]`, or the element/hidden index. */
export function edgeLabel(graph: HeapGraph, e: number): string {
  const type = graph.edgeTypeNames[graph.edgeTypes[e] ?? 0] ?? '?';
  const name = graph.edgeNames[e] ?? 0;
  if (type === 'element' || type === 'hidden') return `[${name}]`;
  const text = graph.strings[name] ?? '?';
  return type === 'property' ? `.${text}` : `(${type}) ${text}`;
}

export interface Dominators {
  /** Immediate dominator of each node reached from the root; -1 for the unreached. */
  readonly idom: Int32Array;
  readonly retained: Float64Array;
  /** Reached nodes in DFS preorder (the root first): a dominator comes before what it dominates. */
  readonly order: Int32Array;
  /** For each reached node but the root, an edge from its immediate dominator to it, or -1. */
  readonly edgeFromIdom: Int32Array;
}

/**
 * Dominators of the graph from node 0 (the snapshot's synthetic root), by Lengauer–Tarjan with
 * path compression, iteratively (no recursion: the heap's chains are deep). As DevTools does,
 * weak edges do not count, nor shortcut edges except from the root (they mark user globals).
 */
export function dominators(graph: HeapGraph): Dominators {
  const n = graph.nodeCount;
  const weak = graph.edgeTypeNames.indexOf('weak');
  const shortcut = graph.edgeTypeNames.indexOf('shortcut');
  const essential = (from: number, e: number): boolean => {
    const type = graph.edgeTypes[e];
    return type !== weak && (type !== shortcut || from === 0);
  };
  // DFS numbering from 1; dfn 0 is unreached.
  const dfn = new Int32Array(n);
  const vertex = new Int32Array(n + 1);
  const parent = new Int32Array(n).fill(-1);
  const stackNode = new Int32Array(n);
  const stackEdge = new Uint32Array(n);
  let count = 0;
  let top = 0;
  dfn[0] = ++count;
  vertex[count] = 0;
  stackNode[0] = 0;
  stackEdge[0] = graph.firstEdge[0] ?? 0;
  while (top >= 0) {
    const v = stackNode[top] ?? 0;
    const end = graph.firstEdge[v + 1] ?? 0;
    let e = stackEdge[top] ?? 0;
    let pushed = false;
    for (; e < end; e++) {
      if (!essential(v, e)) continue;
      const w = graph.edgeTo[e] ?? 0;
      if (dfn[w] !== 0) continue;
      dfn[w] = ++count;
      vertex[count] = w;
      parent[w] = v;
      stackEdge[top] = e + 1;
      top++;
      stackNode[top] = w;
      stackEdge[top] = graph.firstEdge[w] ?? 0;
      pushed = true;
      break;
    }
    if (!pushed) top--;
  }
  // Predecessors over essential edges from reached nodes, as CSR.
  const predCount = new Uint32Array(n + 1);
  for (let v = 0; v < n; v++) {
    if (dfn[v] === 0) continue;
    for (let e = graph.firstEdge[v] ?? 0; e < (graph.firstEdge[v + 1] ?? 0); e++) {
      if (!essential(v, e)) continue;
      const w = (graph.edgeTo[e] ?? 0) + 1;
      predCount[w] = (predCount[w] ?? 0) + 1;
    }
  }
  for (let v = 0; v < n; v++) predCount[v + 1] = (predCount[v + 1] ?? 0) + (predCount[v] ?? 0);
  const predFirst = predCount;
  const preds = new Int32Array(predFirst[n] ?? 0);
  const fill = predFirst.slice(0, n);
  for (let v = 0; v < n; v++) {
    if (dfn[v] === 0) continue;
    for (let e = graph.firstEdge[v] ?? 0; e < (graph.firstEdge[v + 1] ?? 0); e++) {
      if (!essential(v, e)) continue;
      const w = graph.edgeTo[e] ?? 0;
      const at = fill[w] ?? 0;
      preds[at] = v;
      fill[w] = at + 1;
    }
  }
  // semi holds DFS numbers; label and ancestor are the forest of LINK/EVAL.
  const semi = new Int32Array(n);
  const label = new Int32Array(n);
  const ancestor = new Int32Array(n).fill(-1);
  const idom = new Int32Array(n).fill(-1);
  const bucketHead = new Int32Array(n).fill(-1);
  const bucketNext = new Int32Array(n).fill(-1);
  for (let v = 0; v < n; v++) {
    semi[v] = dfn[v] ?? 0;
    label[v] = v;
  }
  const path = new Int32Array(n);
  const evaluate = (v: number): number => {
    if (ancestor[v] === -1) return v;
    // Compress the path v → its forest root's child, from the top down.
    let depth = 0;
    let x = v;
    while ((ancestor[ancestor[x] ?? 0] ?? -1) !== -1) {
      path[depth++] = x;
      x = ancestor[x] ?? 0;
    }
    while (depth > 0) {
      const y = path[--depth] ?? 0;
      const a = ancestor[y] ?? 0;
      if ((semi[label[a] ?? 0] ?? 0) < (semi[label[y] ?? 0] ?? 0)) label[y] = label[a] ?? 0;
      ancestor[y] = ancestor[a] ?? -1;
    }
    return label[v] ?? v;
  };
  for (let i = count; i >= 2; i--) {
    const w = vertex[i] ?? 0;
    for (let p = predFirst[w] ?? 0; p < (predFirst[w + 1] ?? 0); p++) {
      const u = evaluate(preds[p] ?? 0);
      if ((semi[u] ?? 0) < (semi[w] ?? 0)) semi[w] = semi[u] ?? 0;
    }
    const s = vertex[semi[w] ?? 0] ?? 0;
    bucketNext[w] = bucketHead[s] ?? -1;
    bucketHead[s] = w;
    const pw = parent[w] ?? 0;
    ancestor[w] = pw;
    for (let v = bucketHead[pw] ?? -1; v !== -1; v = bucketNext[v] ?? -1) {
      const u = evaluate(v);
      idom[v] = (semi[u] ?? 0) < (semi[v] ?? 0) ? u : pw;
    }
    bucketHead[pw] = -1;
  }
  for (let i = 2; i <= count; i++) {
    const w = vertex[i] ?? 0;
    if (idom[w] !== vertex[semi[w] ?? 0]) idom[w] = idom[idom[w] ?? 0] ?? -1;
  }
  idom[0] = 0;
  const order = vertex.slice(1, count + 1);
  const retained = new Float64Array(n);
  for (let i = 0; i < count; i++) {
    const v = order[i] ?? 0;
    retained[v] = graph.selfSizes[v] ?? 0;
  }
  for (let i = count - 1; i >= 1; i--) {
    const v = order[i] ?? 0;
    const d = idom[v] ?? 0;
    retained[d] = (retained[d] ?? 0) + (retained[v] ?? 0);
  }
  const edgeFromIdom = new Int32Array(n).fill(-1);
  for (let v = 0; v < n; v++) {
    if (dfn[v] === 0) continue;
    for (let e = graph.firstEdge[v] ?? 0; e < (graph.firstEdge[v + 1] ?? 0); e++) {
      const w = graph.edgeTo[e] ?? 0;
      if (w !== 0 && idom[w] === v && edgeFromIdom[w] === -1 && essential(v, e)) edgeFromIdom[w] = e;
    }
  }
  return { idom, retained, order, edgeFromIdom };
}

export interface GroupRow {
  readonly group: string;
  readonly count: number;
  readonly selfSize: number;
  /** What the group's nodes dominate, each node counted once (NaN without dominators). */
  readonly retained: number;
}

/**
 * Self size and count for each key of `keyOf`; with dominators, each group's retained size: the
 * retained sizes of its nodes that no other node of the same group dominates (a walk of the
 * dominator tree that knows how many of each group are above the current node).
 */
export function groupRows(graph: HeapGraph, keyOf: (i: number) => string, doms?: Dominators): GroupRow[] {
  const ids = new Map<string, number>();
  const keys: string[] = [];
  const groupOf = new Int32Array(graph.nodeCount);
  for (let i = 0; i < graph.nodeCount; i++) {
    const key = keyOf(i);
    let id = ids.get(key);
    if (id === undefined) {
      id = keys.length;
      ids.set(key, id);
      keys.push(key);
    }
    groupOf[i] = id;
  }
  const counts = new Float64Array(keys.length);
  const selfs = new Float64Array(keys.length);
  for (let i = 0; i < graph.nodeCount; i++) {
    const g = groupOf[i] ?? 0;
    counts[g] = (counts[g] ?? 0) + 1;
    selfs[g] = (selfs[g] ?? 0) + (graph.selfSizes[i] ?? 0);
  }
  const retained = new Float64Array(keys.length).fill(doms ? 0 : Number.NaN);
  if (doms) {
    // Children of the dominator tree as CSR, in preorder; then an iterative walk.
    const n = graph.nodeCount;
    const childCount = new Uint32Array(n + 1);
    for (let i = 1; i < doms.order.length; i++) {
      const d = (doms.idom[doms.order[i] ?? 0] ?? 0) + 1;
      childCount[d] = (childCount[d] ?? 0) + 1;
    }
    for (let v = 0; v < n; v++) childCount[v + 1] = (childCount[v + 1] ?? 0) + (childCount[v] ?? 0);
    const children = new Int32Array(childCount[n] ?? 0);
    const fill = childCount.slice(0, n);
    for (let i = 1; i < doms.order.length; i++) {
      const v = doms.order[i] ?? 0;
      const d = doms.idom[v] ?? 0;
      const at = fill[d] ?? 0;
      children[at] = v;
      fill[d] = at + 1;
    }
    const above = new Int32Array(keys.length);
    const stackNode = new Int32Array(doms.order.length);
    const stackChild = new Uint32Array(doms.order.length);
    let top = 0;
    const enter = (v: number): void => {
      const g = groupOf[v] ?? 0;
      if (above[g] === 0) retained[g] = (retained[g] ?? 0) + (doms.retained[v] ?? 0);
      above[g] = (above[g] ?? 0) + 1;
    };
    enter(0);
    stackNode[0] = 0;
    stackChild[0] = childCount[0] ?? 0;
    while (top >= 0) {
      const v = stackNode[top] ?? 0;
      const c = stackChild[top] ?? 0;
      if (c < (childCount[v + 1] ?? 0)) {
        stackChild[top] = c + 1;
        const w = children[c] ?? 0;
        enter(w);
        top++;
        stackNode[top] = w;
        stackChild[top] = childCount[w] ?? 0;
      } else {
        const g = groupOf[v] ?? 0;
        above[g] = (above[g] ?? 0) - 1;
        top--;
      }
    }
  }
  return keys.map((group, g) => ({
    group,
    count: counts[g] ?? 0,
    selfSize: selfs[g] ?? 0,
    retained: retained[g] ?? 0,
  }));
}

export interface Retainers {
  /** Node i's retaining edges are edges[first[i]] .. edges[first[i + 1] - 1], by their index. */
  readonly first: Uint32Array;
  readonly edges: Uint32Array;
  /** Each edge's owner (the node it leaves). */
  readonly from: Uint32Array;
}

/** The reverse of the graph's edges (weak ones left out), as CSR. */
export function retainers(graph: HeapGraph): Retainers {
  const n = graph.nodeCount;
  const weak = graph.edgeTypeNames.indexOf('weak');
  const edgeCount = graph.edgeTo.length;
  const from = new Uint32Array(edgeCount);
  const first = new Uint32Array(n + 1);
  for (let v = 0; v < n; v++) {
    for (let e = graph.firstEdge[v] ?? 0; e < (graph.firstEdge[v + 1] ?? 0); e++) {
      from[e] = v;
      if (graph.edgeTypes[e] === weak) continue;
      const w = (graph.edgeTo[e] ?? 0) + 1;
      first[w] = (first[w] ?? 0) + 1;
    }
  }
  for (let v = 0; v < n; v++) first[v + 1] = (first[v + 1] ?? 0) + (first[v] ?? 0);
  const edges = new Uint32Array(first[n] ?? 0);
  const fill = first.slice(0, n);
  for (let e = 0; e < edgeCount; e++) {
    if (graph.edgeTypes[e] === weak) continue;
    const w = graph.edgeTo[e] ?? 0;
    const at = fill[w] ?? 0;
    edges[at] = e;
    fill[w] = at + 1;
  }
  return { first, edges, from };
}

/**
 * Who holds a string: its first retainer (in the snapshot's order) that is neither a string nor
 * one of V8's synthetic roots (the internalized-string table holds most strings beside their
 * users, so a string's dominator is often just the root), as that holder's group and the edge
 * from it, e.g. `Holder  .text`; all scripts' sources are one group, `(code) Script  (internal) source`. A concatenation's or slice's parts
 * count with the concatenation's or slice's holder (up to 16 string steps). '' for non-strings;
 * `(roots only)` for strings only V8's roots hold.
 */
export function stringHolderKey(graph: HeapGraph, back: Retainers, i: number): string {
  if (!isString(graph, i)) return '';
  const synthetic = graph.nodeTypeNames.indexOf('synthetic');
  let s = i;
  for (let step = 0; step < 16; step++) {
    let viaString = -1;
    for (let r = back.first[s] ?? 0; r < (back.first[s + 1] ?? 0); r++) {
      const e = back.edges[r] ?? 0;
      const owner = back.from[e] ?? 0;
      if (graph.types[owner] === synthetic) continue;
      if (isString(graph, owner)) {
        if (viaString === -1) viaString = owner;
        continue;
      }
      const kind = graph.edgeTypeNames[graph.edgeTypes[e] ?? 0];
      // Scripts are `code` nodes named by their URL: one group for all their sources.
      if (
        kind === 'internal' &&
        graph.strings[graph.edgeNames[e] ?? 0] === 'source' &&
        graph.nodeTypeNames[graph.types[owner] ?? 0] === 'code'
      ) {
        return '(code) Script  (internal) source';
      }
      // Element indexes would make one group per slot: the holder alone for those.
      return `${groupName(graph, owner)}  ${kind === 'element' || kind === 'hidden' ? '[…]' : edgeLabel(graph, e)}`;
    }
    if (viaString === -1) break;
    s = viaString;
  }
  return '(roots only)';
}

/**
 * Each script's source: the strings held by a `code` node's `source` edge (V8's Script objects,
 * named by the script's URL or path), as rows of the script's name, 1, and the source's size
 * (a concatenated or sliced source with its parts).
 */
export function scriptSources(graph: HeapGraph): GroupRow[] {
  const code = graph.nodeTypeNames.indexOf('code');
  const rows: GroupRow[] = [];
  for (let v = 0; v < graph.nodeCount; v++) {
    if (graph.types[v] !== code) continue;
    for (let e = graph.firstEdge[v] ?? 0; e < (graph.firstEdge[v + 1] ?? 0); e++) {
      if (
        graph.strings[graph.edgeNames[e] ?? 0] !== 'source' ||
        graph.edgeTypeNames[graph.edgeTypes[e] ?? 0] !== 'internal'
      )
        continue;
      const s = graph.edgeTo[e] ?? 0;
      if (!isString(graph, s)) continue;
      rows.push({
        group: graph.strings[graph.names[v] ?? 0] ?? '',
        count: 1,
        selfSize: stringSize(graph, s),
        retained: Number.NaN,
      });
    }
  }
  return rows;
}

/** A string's size with the parts of its concatenation or slice. */
function stringSize(graph: HeapGraph, s: number): number {
  let size = graph.selfSizes[s] ?? 0;
  const parts = [s];
  const seen = new Set<number>([s]);
  while (parts.length > 0) {
    const p = parts.pop() ?? 0;
    for (let e = graph.firstEdge[p] ?? 0; e < (graph.firstEdge[p + 1] ?? 0); e++) {
      const w = graph.edgeTo[e] ?? 0;
      if (seen.has(w) || !isString(graph, w)) continue;
      seen.add(w);
      size += graph.selfSizes[w] ?? 0;
      parts.push(w);
    }
  }
  return size;
}

/** Up to `depth` steps up the dominator tree from node i, as `Group .edge ← Group .edge ← …`. */
export function ownerPath(graph: HeapGraph, doms: Dominators, i: number, depth: number): string {
  const steps: string[] = [];
  let v = i;
  for (let k = 0; k < depth && v !== 0 && doms.idom[v] !== -1; k++) {
    const e = doms.edgeFromIdom[v] ?? -1;
    const d = doms.idom[v] ?? 0;
    steps.push(`${e === -1 ? '' : `${edgeLabel(graph, e)} of `}${groupName(graph, d)}`);
    v = d;
  }
  return steps.join(' ← ');
}
