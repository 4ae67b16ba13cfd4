/**
 * The PromQL of a Grafana dashboard (dashboards/skiff.json), read for the tests that prove it
 * without Grafana: every panel target's expression, and the expression as Grafana would send it
 * once its variables are replaced (`$__rate_interval`, `$__range`, `$service`, `$node`, …).
 */
import { parser } from '@prometheus-io/lezer-promql';
import { z } from 'zod';

const targetSchema = z.object({ expr: z.string().min(1), refId: z.string() }).loose();
const panelSchema = z
  .object({
    id: z.int(),
    title: z.string(),
    type: z.string(),
    datasource: z.object({ type: z.string(), uid: z.string() }).optional(),
    targets: z.array(targetSchema).optional(),
  })
  .loose();

export const dashboardSchema = z
  .object({
    title: z.string(),
    uid: z.string(),
    schemaVersion: z.int(),
    panels: z.array(panelSchema),
    templating: z.object({ list: z.array(z.object({ name: z.string(), type: z.string() }).loose()) }),
  })
  .loose();
export type Dashboard = z.infer<typeof dashboardSchema>;

export interface PanelQuery {
  readonly panel: string;
  readonly refId: string;
  readonly expr: string;
}

export function panelQueries(dashboard: Dashboard): PanelQuery[] {
  return dashboard.panels.flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({ panel: panel.title, refId: target.refId, expr: target.expr })),
  );
}

export interface VariableValues {
  /** Grafana's `$__rate_interval`: max(4 × scrape interval, interval + scrape interval). */
  readonly rateInterval: string;
  /** `$__range`: the dashboard's time range. */
  readonly range: string;
  /** Query variables by name (`service`, `node`), as their All value (`.*`) or a regex. */
  readonly variables: Readonly<Record<string, string>>;
}

/** The expression with Grafana's variables replaced, in both spellings (`$x` and `${x}`). */
export function substitute(expr: string, values: VariableValues): string {
  const all: Record<string, string> = {
    __rate_interval: values.rateInterval,
    __range: values.range,
    __interval: values.rateInterval,
    ...values.variables,
  };
  return expr.replace(
    /\$\{(\w+)\}|\$(\w+)/g,
    (match, braced: string | undefined, bare: string | undefined) => {
      const name = braced ?? bare ?? '';
      return all[name] ?? match;
    },
  );
}

/**
 * The expression with one more label matcher on every series it selects, so a query sees only one
 * target's series: a test sharing a Prometheus with earlier runs must not pass on their data.
 */
export function withMatcher(expr: string, label: string, value: string): string {
  const matcher = `${label}=${JSON.stringify(value)}`;
  const inserts: { at: number; text: string }[] = [];
  const cursor = parser.parse(expr).cursor();
  do {
    if (cursor.type.name !== 'VectorSelector') continue;
    const selector = cursor.node;
    const matchers = selector.getChild('LabelMatchers');
    if (matchers) {
      const empty = expr.slice(matchers.from + 1, matchers.to - 1).trim() === '';
      inserts.push({ at: matchers.from + 1, text: empty ? matcher : `${matcher},` });
    } else inserts.push({ at: selector.to, text: `{${matcher}}` });
  } while (cursor.next());
  let out = expr;
  for (const { at, text } of inserts.sort((a, b) => b.at - a.at))
    out = out.slice(0, at) + text + out.slice(at);
  return out;
}
