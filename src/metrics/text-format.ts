/**
 * Metric families as values, and their Prometheus text exposition (format 0.0.4). What the
 * scrape derives from cluster state is built as families by pure functions and rendered here;
 * prom-client renders its own instruments (registry.ts), and the two texts are joined.
 */

/** Where the exposition is served: the API's port (metrics-route.ts) and `--metrics-listen`'s. */
export const METRICS_PATH = '/metrics';

/** What renders the whole exposition. */
export interface MetricsRenderer {
  /** The exposition as UTF-8 text. */
  render(): Promise<Uint8Array<ArrayBuffer>>;
}

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
  // Built as strings, each sample's labels once: at 1,000 replicas a scrape is tens of thousands
  // of lines, and object spreads per bucket line cost more than the rest of the scrape.
  const lines: string[] = [];
  for (const family of families) {
    const name = family.name;
    lines.push(`# HELP ${name} ${escapeHelp(family.help)}`, `# TYPE ${name} ${family.type}`);
    if (family.type === 'histogram') {
      for (const sample of family.samples) {
        const labels = labelText(sample.labels);
        const open = labels === '' ? '{' : `{${labels},`;
        for (const [bound, count] of sample.buckets)
          lines.push(`${name}_bucket${open}le="${formatValue(bound)}"} ${formatValue(count)}`);
        lines.push(`${name}_bucket${open}le="+Inf"} ${formatValue(sample.count)}`);
        const braced = labels === '' ? '' : `{${labels}}`;
        lines.push(`${name}_sum${braced} ${formatValue(sample.sum)}`);
        lines.push(`${name}_count${braced} ${formatValue(sample.count)}`);
      }
    } else {
      for (const sample of family.samples) {
        const labels = labelText(sample.labels);
        lines.push(
          labels === ''
            ? `${name} ${formatValue(sample.value)}`
            : `${name}{${labels}} ${formatValue(sample.value)}`,
        );
      }
    }
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** A label value as the text format writes it between quotes. */
export function labelValue(value: string): string {
  return NEEDS_ESCAPE.test(value) ? escapeLabel(value) : value;
}

/** A family's `# HELP` and `# TYPE` lines, each ending in a newline. */
export function familyHeader(name: string, help: string, type: MetricType): string {
  return `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
}

function labelText(labels: Labels): string {
  let text = '';
  for (const key in labels) {
    const value = labels[key] ?? '';
    text += `${text === '' ? '' : ','}${key}="${NEEDS_ESCAPE.test(value) ? escapeLabel(value) : value}"`;
  }
  return text;
}

const NEEDS_ESCAPE = /[\\\n"]/;

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
