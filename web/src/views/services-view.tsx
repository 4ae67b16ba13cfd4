/**
 * Every service, one memoised row each: a stream change re-renders the rows of the services it
 * changed and no other (unchanged services keep their identity in the cache), and only the rows
 * near the viewport are rendered at all (`row-window.ts`), so 500 services stay cheap.
 */
import { memo, useRef } from 'react';
import type { ServiceView } from '../api/types.ts';
import { StatusPill } from '../components/action-button.tsx';
import { useRowWindow } from '../components/row-window.ts';
import { Sparkline } from '../components/sparkline.tsx';
import { formatBytes, formatCpu } from '../format.ts';
import { useServiceStats, useServices } from '../live/live-context.tsx';
import type { Series } from '../live/stats-series.ts';
import { href, replaceParam, useRoute } from '../router.ts';

export function ServicesView() {
  const services = useServices();
  const { params } = useRoute();
  const query = params.get('q') ?? '';
  const status = params.get('status') ?? '';
  if (services === undefined) return <p className="muted">Loading services…</p>;
  const shown = services.filter(
    (s) =>
      (query === '' || s.name.includes(query) || s.image.includes(query)) &&
      (status === '' || s.status === status),
  );
  return (
    <section aria-labelledby="services-title">
      <div className="toolbar">
        <h1 id="services-title">Services</h1>
        <input
          type="search"
          placeholder="Filter by name or image"
          aria-label="Filter services"
          value={query}
          onChange={(e) => replaceParam('q', e.target.value)}
        />
        <select aria-label="Status" value={status} onChange={(e) => replaceParam('status', e.target.value)}>
          <option value="">any status</option>
          {['running', 'starting', 'updating', 'pending', 'degraded', 'failed', 'stopped'].map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
        <span className="muted">
          {shown.length} of {services.length}
        </span>
      </div>
      <ServiceTable services={shown} />
      {services.length === 0 && <p className="muted">No services yet. Deploy one from the Deploy view.</p>}
    </section>
  );
}

/**
 * `series` is for a caller that keeps stats itself (the benchmark's cache-bypassing variant);
 * without it the row reads its service's stats from the cache.
 */
/** A row's height in px (CSS `.services .row`), which windowing counts on. */
export const SERVICE_ROW_PX = 48;

/** `seriesOf` is for a caller that keeps stats itself (the benchmark's cache-bypassing page). */
export function ServiceTable({
  services,
  seriesOf,
}: {
  services: readonly ServiceView[];
  seriesOf?: (name: string) => Series;
}) {
  const body = useRef<HTMLDivElement>(null);
  const { start, end } = useRowWindow(body, services.length, SERVICE_ROW_PX);
  return (
    <section className="table services" aria-label="Services">
      <div className="row head">
        <span>Name</span>
        <span>Status</span>
        <span>Running</span>
        <span className="wide">Health</span>
        <span className="wide">Image</span>
        <span className="wide">Rev</span>
        <span className="wide">Restarts</span>
        <span className="wide">CPU / memory</span>
      </div>
      <div ref={body} style={{ height: services.length * SERVICE_ROW_PX }}>
        <div style={{ transform: `translateY(${start * SERVICE_ROW_PX}px)` }}>
          {services.slice(start, end).map((service) => (
            <ServiceRow key={service.name} service={service} series={seriesOf?.(service.name)} />
          ))}
        </div>
      </div>
    </section>
  );
}

export const ServiceRow = memo(function ServiceRow({
  service,
  series,
}: {
  service: ServiceView;
  series?: Series;
}) {
  const restarts = service.containers.reduce((sum, c) => sum + c.restart_count, 0);
  return (
    <div className="row" data-service={service.name}>
      <span>
        <a href={href(['services', service.name])}>{service.name}</a>
      </span>
      <span>
        <StatusPill status={service.status} />
      </span>
      <span className="count" data-testid="running">
        {service.running}/{service.replicas}
      </span>
      <span className="wide">
        {service.health_check ? `${service.healthy}/${service.replicas} healthy` : 'no check'}
      </span>
      <span className="wide mono ellipsis" title={service.image}>
        {service.image}
      </span>
      <span className="wide">{service.revision}</span>
      <span className="wide" data-testid="restarts">
        {restarts}
      </span>
      <span className="wide">
        {series === undefined ? (
          <ServiceSparklines name={service.name} />
        ) : (
          <Sparks name={service.name} series={series} />
        )}
      </span>
      {service.message && <span className="row-message muted">{service.message}</span>}
    </div>
  );
});

/**
 * Only this re-renders when the service's stats get a point (once a second); memoised, so the
 * row's own changes (ten a second in a busy cluster) do not run its query or touch its charts.
 */
const ServiceSparklines = memo(function ServiceSparklines({ name }: { name: string }) {
  const series = useServiceStats(name);
  return <Sparks name={name} series={series} />;
});

const Sparks = memo(function Sparks({ name, series }: { name: string; series: Series | undefined }) {
  if (!series || series.t.length === 0) return <span className="muted">no stats</span>;
  const cpu = series.cpu.at(-1) ?? 0;
  const memory = series.memory.at(-1) ?? 0;
  return (
    <span className="sparks" title={`${formatCpu(cpu)} CPU, ${formatBytes(memory)} memory`}>
      <Sparkline series={series} field="cpu" width={60} height={18} label={`${name} CPU`} />
      <Sparkline series={series} field="memory" width={60} height={18} label={`${name} memory`} />
    </span>
  );
});
