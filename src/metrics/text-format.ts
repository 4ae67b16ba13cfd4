/**
 * Metric families as values, and their Prometheus text exposition (format 0.0.4). What the
 * scrape derives from cluster state is built as families by pure functions and rendered here;
 * prom-client renders its own instruments (registry.ts), and the two texts are joined.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram';

export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  readonly labels: Labels;
  readonly value: number;
}

export interface HistogramSample {
  readonly labels: Labels;
  /** Upper bounds (seconds, ascending, without +Inf) and the cumulative count at each. */
  readonly buckets: readonly (readonly [number, number])[];
  readonly sum: number;
  readonly count: number;
}

export type MetricFamily =
  | {
      readonly name: string;
      readonly help: string;
      readonly type: 'counter' | 'gauge';
      readonly samples: readonly Sample[];
    }
  | {
      readonly name: string;
      readonly help: string;
      readonly type: 'histogram';
      readonly samples: readonly HistogramSample[];
    };

/** The content type Prometheus expects of the text format. */
export const TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export function renderFamilies(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const family of families) {
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
    if (family.type === 'histogram') {
      for (const sample of family.samples) {
        for (const [bound, count] of sample.buckets)
          lines.push(line(`${family.name}_bucket`, { ...sample.labels, le: formatValue(bound) }, count));
        lines.push(line(`${family.name}_bucket`, { ...sample.labels, le: '+Inf' }, sample.count));
        lines.push(line(`${family.name}_sum`, sample.labels, sample.sum));
        lines.push(line(`${family.name}_count`, sample.labels, sample.count));
      }
    } else {
      for (const sample of family.samples) lines.push(line(family.name, sample.labels, sample.value));
    }
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

function line(name: string, labels: Labels, value: number): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return `${name} ${formatValue(value)}`;
  const pairs = keys.map((key) => `${key}="${escapeLabel(labels[key] ?? '')}"`);
  return `${name}{${pairs.join(',')}} ${formatValue(value)}`;
}

export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

function escapeLabel(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll('\n', '\\n').replaceAll('"', '\\"');
}

function escapeHelp(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll('\n', '\\n');
}

/** Cumulative bucket counts of `values` (seconds) over `bounds`: for building histograms in tests and snapshots. */
export function cumulativeBuckets(bounds: readonly number[], counts: readonly number[]): [number, number][] {
  let total = 0;
  return bounds.map((bound, i) => {
    total += counts[i] ?? 0;
    return [bound, total];
  });
}
