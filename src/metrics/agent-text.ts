/**
 * The agents' families (`agentFamilies`) rendered straight to text, for the scrape: at 100 nodes
 * they are half of it (ten thousand counter lines, most of them zeros), and an agent's snapshot
 * changes only when its next `agent.metrics` message replaces it (every 5 s). So each snapshot's
 * lines are built once (when it arrives, `prepare`, or at the first scrape that meets it), per
 * family, encoded once as UTF-8, and kept beside the snapshot object (a
 * WeakMap: a replaced snapshot takes its bytes with it); a scrape lists the nodes' pieces for one
 * `Buffer.concat`. (A string joined from them would be a rope the response must flatten and
 * encode again: at 1 MB, more than building it.) The text is the one
 * `renderFamilies(agentFamilies(…))` gives, line for line (scrape-text.test.ts checks it).
 */
import {
  AGENT_COUNTERS,
  AGENT_HISTOGRAMS,
  type AgentCounter,
  type AgentHistogram,
  type AgentSnapshot,
  type CounterEntry,
  type HistogramEntry,
} from './agent-counters.ts';
import { familyHeader, formatValue, labelValue } from './text-format.ts';

const COUNTERS = Object.entries(AGENT_COUNTERS) as [AgentCounter, (typeof AGENT_COUNTERS)[AgentCounter]][];
const HISTOGRAMS = Object.entries(AGENT_HISTOGRAMS) as [
  AgentHistogram,
  (typeof AGENT_HISTOGRAMS)[AgentHistogram],
][];
const HEADERS = [
  ...COUNTERS.map(([, def]) => familyHeader(def.family, def.help, 'counter')),
  ...HISTOGRAMS.map(([, def]) => familyHeader(def.family, def.help, 'histogram')),
].map((header) => Buffer.from(header));
const COUNTER_INDEX = new Map(COUNTERS.map(([name], i) => [name, i]));
const HISTOGRAM_INDEX = new Map(HISTOGRAMS.map(([name], i) => [name, COUNTERS.length + i]));
/** Each histogram's bounds as `le` text, computed once. */
const BOUND_TEXT = HISTOGRAMS.map(([, def]) => def.bounds.map((bound) => formatValue(bound)));

export class AgentText {
  /** Per snapshot, its lines for each family (counters, then histograms, in definition order). */
  readonly #pieces = new WeakMap<AgentSnapshot, readonly Buffer[]>();
  #scraped = false;

  /**
   * A node's new snapshot arrived: its text is built now, off the scrape's path, once anything
   * has scraped (before that, no one reads it).
   */
  prepare(node: string, snapshot: AgentSnapshot): void {
    if (this.#scraped && !this.#pieces.has(snapshot))
      this.#pieces.set(
        snapshot,
        nodePieces(node, snapshot).map((piece) => Buffer.from(piece)),
      );
  }

  /** Every node's snapshot as the text of the agent families, nodes in name order, in pieces. */
  render(snapshots: ReadonlyMap<string, AgentSnapshot>): Buffer[] {
    this.#scraped = true;
    const nodes = [...snapshots.keys()].sort();
    const pieces = nodes.map((node) => {
      const snapshot = snapshots.get(node) as AgentSnapshot;
      let text = this.#pieces.get(snapshot);
      if (text === undefined) {
        text = nodePieces(node, snapshot).map((piece) => Buffer.from(piece));
        this.#pieces.set(snapshot, text);
      }
      return text;
    });
    const out: Buffer[] = [];
    for (const [index, header] of HEADERS.entries()) {
      out.push(header);
      for (const piece of pieces) {
        const bytes = piece[index];
        if (bytes !== undefined && bytes.length > 0) out.push(bytes);
      }
    }
    return out;
  }
}

/** One node's lines of each family. */
function nodePieces(node: string, snapshot: AgentSnapshot): string[] {
  const nodeLabel = labelValue(node);
  const counters: CounterEntry[][] = COUNTERS.map(() => []);
  for (const entry of snapshot.counters) counters[COUNTER_INDEX.get(entry.name) ?? -1]?.push(entry);
  const histograms: HistogramEntry[][] = HISTOGRAMS.map(() => []);
  for (const entry of snapshot.histograms)
    histograms[(HISTOGRAM_INDEX.get(entry.name) ?? -1) - COUNTERS.length]?.push(entry);
  const out: string[] = [];
  for (const [i, [, def]] of COUNTERS.entries()) {
    const entries = counters[i] ?? [];
    // agentFamilies' order: by service, then by the counter's own label value.
    entries.sort((a, b) =>
      a.service < b.service ? -1 : a.service > b.service ? 1 : a.value < b.value ? -1 : 1,
    );
    let text = '';
    for (const entry of entries) {
      const own = def.label ? `,${def.label}="${labelValue(entry.value)}"` : '';
      text += `${def.family}{service="${labelValue(entry.service)}",node="${nodeLabel}"${own}} ${formatValue(entry.count)}\n`;
    }
    out.push(text);
  }
  for (const [i, [, def]] of HISTOGRAMS.entries()) {
    const entries = histograms[i] ?? [];
    entries.sort((a, b) => (a.service < b.service ? -1 : 1));
    const bounds = BOUND_TEXT[i] ?? [];
    const name = def.family;
    let text = '';
    for (const entry of entries) {
      const labels = `service="${labelValue(entry.service)}",node="${nodeLabel}"`;
      let total = 0;
      for (const [b, bound] of bounds.entries()) {
        total += entry.counts[b] ?? 0;
        text += `${name}_bucket{${labels},le="${bound}"} ${formatValue(total)}\n`;
      }
      total += entry.counts[bounds.length] ?? 0;
      text += `${name}_bucket{${labels},le="+Inf"} ${formatValue(total)}\n`;
      text += `${name}_sum{${labels}} ${formatValue(entry.sum)}\n`;
      text += `${name}_count{${labels}} ${formatValue(total)}\n`;
    }
    out.push(text);
  }
  return out;
}
