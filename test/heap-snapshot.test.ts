// The pure half of bench/heap-summary.ts (bench/harness/heap-snapshot.ts): a snapshot's dominators,
// retained sizes, groups and string holders, on small hand-made graphs and a real snapshot of this
// process (checked against dominators found by definition: a node's dominators are those whose removal
// leaves it unreached).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getHeapSnapshot } from 'node:v8';
import {
  dominators,
  groupName,
  groupRows,
  type HeapGraph,
  heapGraph,
  ownerPath,
  retainers,
  scriptSources,
  stringHolderKey,
} from '../bench/harness/heap-snapshot.ts';

const NODE_TYPES = [
  'hidden',
  'array',
  'string',
  'object',
  'code',
  'closure',
  'regexp',
  'number',
  'native',
  'synthetic',
  'concatenated string',
  'sliced string',
];
const EDGE_TYPES = ['context', 'element', 'property', 'internal', 'hidden', 'shortcut', 'weak'];

interface Spec {
  nodes: { type: string; name: string; size: number }[];
  /** [from, type, name, to] */
  edges: [number, string, string | number, number][];
}

/** A .heapsnapshot JSON (with a field order of its own, to check that the meta is read). */
function snapshot(spec: Spec): unknown {
  const strings: string[] = [];
  const str = (s: string): number => {
    const at = strings.indexOf(s);
    if (at >= 0) return at;
    strings.push(s);
    return strings.length - 1;
  };
  const nodeFields = ['name', 'type', 'id', 'self_size', 'edge_count', 'detachedness'];
  const nodes: number[] = [];
  const edges: number[] = [];
  spec.nodes.forEach((node, i) => {
    const out = spec.edges.filter(([from]) => from === i);
    nodes.push(str(node.name), NODE_TYPES.indexOf(node.type), i * 2 + 1, node.size, out.length, 0);
    for (const [, type, name, to] of out) {
      edges.push(
        EDGE_TYPES.indexOf(type),
        typeof name === 'number' ? name : str(name),
        to * nodeFields.length,
      );
    }
  });
  return {
    snapshot: {
      meta: {
        node_fields: nodeFields,
        node_types: [NODE_TYPES, 'string', 'number', 'number', 'number', 'number'],
        edge_fields: ['type', 'name_or_index', 'to_node'],
        edge_types: [EDGE_TYPES, 'string_or_number', 'node'],
      },
      node_count: spec.nodes.length,
    },
    nodes,
    edges,
    strings,
  };
}

/**
 * The immediate dominator by definition: d dominates v iff v is unreached from the root once d is
 * removed. Every dominator lies on any one path from the root to v, in dominance order, so the
 * immediate one is the dominator on such a path nearest v.
 */
function bruteIdom(graph: HeapGraph, v: number): number {
  const weak = graph.edgeTypeNames.indexOf('weak');
  const shortcut = graph.edgeTypeNames.indexOf('shortcut');
  const search = (without: number): Int32Array => {
    const from = new Int32Array(graph.nodeCount).fill(-2);
    const queue = [0];
    from[0] = -1;
    for (let q = 0; q < queue.length; q++) {
      const x = queue[q] ?? 0;
      for (let e = graph.firstEdge[x] ?? 0; e < (graph.firstEdge[x + 1] ?? 0); e++) {
        const t = graph.edgeTypes[e];
        if (t === weak || (t === shortcut && x !== 0)) continue;
        const w = graph.edgeTo[e] ?? 0;
        if (w === without || from[w] !== -2) continue;
        from[w] = x;
        queue.push(w);
      }
    }
    return from;
  };
  const from = search(-1);
  if (from[v] === -2) return -1;
  for (let d = from[v] ?? 0; d !== 0; d = from[d] ?? 0) if (search(d)[v] === -2) return d;
  return 0;
}

const node = (type: string, name: string, size: number) => ({ type, name, size });

test('dominators, retained sizes and owner paths of a small graph; weak edges and shortcuts not from the root do not count', () => {
  // root → A, root → C; A → B, C → B (B: the root's); A → D (A's); D → E weakly; C → E by a
  // shortcut (E unreached); F not reached at all.
  const graph = heapGraph(
    snapshot({
      nodes: [
        node('synthetic', '', 0),
        node('object', 'A', 10),
        node('object', 'B', 20),
        node('object', 'C', 30),
        node('object', 'D', 40),
        node('object', 'E', 50),
        node('object', 'F', 60),
      ],
      edges: [
        [0, 'element', 1, 1],
        [0, 'element', 2, 3],
        [1, 'property', 'b', 2],
        [3, 'property', 'b', 2],
        [1, 'property', 'd', 4],
        [4, 'weak', 'e', 5],
        [3, 'shortcut', 'e', 5],
      ],
    }),
  );
  const doms = dominators(graph);
  assert.deepEqual([...doms.idom], [0, 0, 0, 0, 1, -1, -1]);
  assert.deepEqual([...doms.retained].slice(0, 5), [100, 50, 20, 30, 40]);
  assert.equal(ownerPath(graph, doms, 4, 3), '.d of A ← [1] of (synthetic) ');
  assert.equal(groupName(graph, 1), 'A');
});

test('a group retains what its nodes dominate once, not again for a node of its own group below', () => {
  // root → M1 → M2 → X; root → M3: three Maps, M1 dominating M2.
  const graph = heapGraph(
    snapshot({
      nodes: [
        node('synthetic', '', 0),
        node('object', 'Map', 1),
        node('object', 'Map', 2),
        node('object', 'X', 100),
        node('object', 'Map', 4),
      ],
      edges: [
        [0, 'element', 1, 1],
        [1, 'internal', 'table', 2],
        [2, 'property', 'x', 3],
        [0, 'element', 2, 4],
      ],
    }),
  );
  const doms = dominators(graph);
  const maps = groupRows(graph, (i) => groupName(graph, i), doms).find((r) => r.group === 'Map');
  assert.deepEqual(maps, { group: 'Map', count: 3, selfSize: 7, retained: 107 });
});

test('strings are counted with their first holder that is neither a string nor a root, and the edge from it', () => {
  // A Script holds a cons string of two flat strings; an object holds a sliced string of a flat
  // one; an array holds a string at an element index, which the string table (a synthetic root)
  // holds too; the table alone holds one more.
  const graph = heapGraph(
    snapshot({
      nodes: [
        node('synthetic', '', 0),
        node('code', 'file:///x/src/a.ts', 8),
        node('concatenated string', 'ab', 32),
        node('string', 'a', 100),
        node('string', 'b', 200),
        node('object', 'Holder', 16),
        node('sliced string', 'c', 40),
        node('string', 'ccc', 300),
        node('array', '(object elements)', 24),
        node('string', 'd', 50),
        node('synthetic', '(Internalized strings)', 0),
        node('string', 'e', 7),
      ],
      edges: [
        [0, 'element', 1, 1],
        [1, 'internal', 'source', 2],
        [2, 'internal', 'first', 3],
        [2, 'internal', 'second', 4],
        [0, 'element', 2, 5],
        [5, 'property', 'text', 6],
        [6, 'internal', 'parent', 7],
        [0, 'element', 3, 8],
        [0, 'element', 4, 10],
        [10, 'internal', 'd', 9],
        [10, 'internal', 'e', 11],
        [8, 'element', 7, 9],
      ],
    }),
  );
  const back = retainers(graph);
  const rows = groupRows(graph, (i) => stringHolderKey(graph, back, i));
  const by = new Map(rows.map((r) => [r.group, r.selfSize]));
  assert.equal(by.get('(code) Script  (internal) source'), 332);
  assert.equal(by.get('Holder  .text'), 340);
  assert.equal(by.get('(array) (object elements)  […]'), 50);
  assert.equal(by.get('(roots only)'), 7);
  assert.equal(by.get(''), 8 + 16 + 24);
  assert.deepEqual(scriptSources(graph), [
    { group: 'file:///x/src/a.ts', count: 1, selfSize: 332, retained: Number.NaN },
  ]);
});

test('a real snapshot of this process: Lengauer–Tarjan agrees with brute force on a sample of nodes, and retained sizes add up', () => {
  const chunks: Buffer[] = [];
  const stream = getHeapSnapshot();
  return new Promise<void>((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', reject);
    stream.on('end', () => {
      try {
        const graph = heapGraph(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        const doms = dominators(graph);
        let reachedSelf = 0;
        for (let i = 0; i < graph.nodeCount; i++)
          if (doms.idom[i] !== -1) reachedSelf += graph.selfSizes[i] ?? 0;
        assert.equal(doms.retained[0], reachedSelf);
        // Brute force is a search per step of a path: a sample of nodes spread over the graph.
        const step = Math.floor(graph.nodeCount / 40);
        for (let v = 1; v < graph.nodeCount; v += step)
          assert.equal(doms.idom[v], bruteIdom(graph, v), `node ${v}`);
        resolve();
      } catch (error) {
        reject(error);
      }
    });
  });
});
