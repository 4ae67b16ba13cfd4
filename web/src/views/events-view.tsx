/**
 * Events, newest first, live from the stream; filterable by type, service and text (in the URL).
 * `EventList` for one service also reads that service's older events from the API once, since
 * the cache keeps only the cluster's last MAX_CACHED_EVENTS.
 */
import { useQuery } from '@tanstack/react-query';
import { memo, useMemo } from 'react';
import { apiRequest } from '../api/http.ts';
import type { SkiffEvent } from '../api/types.ts';
import { formatTime } from '../format.ts';
import { useEvents } from '../live/live-context.tsx';
import { href, replaceParam, useRoute } from '../router.ts';

const TYPES = [
  'service',
  'scale',
  'schedule',
  'container',
  'health_check',
  'restart',
  'image',
  'node',
  'rollout',
  'token',
  'policy',
  'secret',
  'config',
];
/** Rows drawn at most; the filter narrows what they are. */
const SHOWN = 500;

export function EventsView() {
  const { params } = useRoute();
  return (
    <section aria-labelledby="events-title">
      <h1 id="events-title">Events</h1>
      <EventList
        service={params.get('service') ?? undefined}
        type={params.get('type') ?? undefined}
        text={params.get('q') ?? undefined}
        filters
      />
    </section>
  );
}

export function EventList({
  service,
  type,
  text,
  filters = false,
}: {
  service?: string | undefined;
  type?: string | undefined;
  text?: string | undefined;
  filters?: boolean;
}) {
  const live = useEvents();
  const backlog = useQuery({
    queryKey: ['events-of', service],
    queryFn: () =>
      apiRequest<SkiffEvent[]>('GET', `/api/events?service=${encodeURIComponent(service ?? '')}&limit=500`),
    enabled: service !== undefined && !filters,
    staleTime: Number.POSITIVE_INFINITY,
  });
  const shown = useMemo(() => {
    const byId = new Map<number, SkiffEvent>();
    for (const e of backlog.data ?? []) byId.set(e.id, e);
    for (const e of live ?? []) byId.set(e.id, e);
    const all = [...byId.values()].sort((a, b) => b.id - a.id);
    return all
      .filter(
        (e) =>
          (service === undefined || service === '' || e.service === service) &&
          (type === undefined || type === '' || e.type === type) &&
          (text === undefined || text === '' || e.message.toLowerCase().includes(text.toLowerCase())),
      )
      .slice(0, SHOWN);
  }, [live, backlog.data, service, type, text]);
  return (
    <div>
      {filters && (
        <div className="toolbar">
          <select
            aria-label="Event type"
            value={type ?? ''}
            onChange={(e) => replaceParam('type', e.target.value)}
          >
            <option value="">any type</option>
            {TYPES.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
          <input
            type="search"
            placeholder="Service"
            aria-label="Service"
            value={service ?? ''}
            onChange={(e) => replaceParam('service', e.target.value)}
          />
          <input
            type="search"
            placeholder="Text"
            aria-label="Search events"
            value={text ?? ''}
            onChange={(e) => replaceParam('q', e.target.value)}
          />
        </div>
      )}
      {live === undefined && <p className="muted">Loading events…</p>}
      <ol className="events" aria-label="Events">
        {shown.map((e) => (
          <EventRow key={e.id} event={e} />
        ))}
      </ol>
      {live !== undefined && shown.length === 0 && <p className="muted">No events match.</p>}
    </div>
  );
}

const EventRow = memo(function EventRow({ event }: { event: SkiffEvent }) {
  return (
    <li className={`event event-${event.type}`}>
      <time dateTime={event.timestamp}>{formatTime(event.timestamp)}</time>{' '}
      <span className="pill">{event.type}</span>{' '}
      {event.service && <a href={href(['services', event.service], { tab: 'events' })}>{event.service}</a>}{' '}
      <span>{event.message}</span>
    </li>
  );
});
