/**
 * The benchmark's comparison page (`npm run bench:ui`, never shipped): the same service rows,
 * fed the way a dashboard without the query cache is often written — every stream message is a
 * `setState` of its own, straight from `onmessage` (no batching per frame, no query cache), and
 * every stats message a new point for every service's chart.
 */
import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import type { ServiceView } from '../src/api/types.ts';
import { streamUrl } from '../src/live/connection.ts';
import type { StatsSample } from '../src/live/messages.ts';
import { parseMessage } from '../src/live/messages.ts';
import type { Series } from '../src/live/stats-series.ts';
import { EMPTY_SERIES, SERIES_POINTS } from '../src/live/stats-series.ts';
import { ServiceTable } from '../src/views/services-view.tsx';
import '../src/styles.css';

function NaiveServices() {
  const [services, setServices] = useState<readonly ServiceView[]>([]);
  const [stats, setStats] = useState<Readonly<Record<string, Series>>>({});
  useEffect(() => {
    const latest = new Map<string, StatsSample>();
    const socket = new WebSocket(streamUrl(window.location));
    socket.onmessage = (event) => {
      const message = parseMessage(String(event.data));
      if (!message) return;
      if (message.type === 'snapshot') {
        setServices([...message.services].sort((a, b) => a.name.localeCompare(b.name)));
        return;
      }
      if (message.type !== 'changes') return;
      const upserts = message.services?.upsert ?? [];
      if (upserts.length > 0) {
        const changed = new Map(upserts.map((s) => [s.name, s]));
        setServices((old) => old.map((s) => changed.get(s.name) ?? s));
      }
      if (message.stats && message.stats.length > 0) {
        for (const sample of message.stats) latest.set(sample.task_id, sample);
        const sums = new Map<string, { cpu: number; memory: number }>();
        for (const s of latest.values()) {
          const sum = sums.get(s.service) ?? { cpu: 0, memory: 0 };
          sum.cpu += s.cpu_percent * 10;
          sum.memory += s.memory_bytes;
          sums.set(s.service, sum);
        }
        const t = Date.now() / 1000;
        setStats((old) => {
          const next: Record<string, Series> = { ...old };
          for (const [name, sum] of sums) {
            const series = old[name] ?? EMPTY_SERIES;
            const drop = series.t.length >= SERIES_POINTS ? 1 : 0;
            next[name] = {
              t: [...series.t.slice(drop), t],
              cpu: [...series.cpu.slice(drop), sum.cpu],
              memory: [...series.memory.slice(drop), sum.memory],
            };
          }
          return next;
        });
      }
    };
    return () => socket.close();
  }, []);
  return (
    <main>
      <h1>Services (state per message)</h1>
      <ServiceTable services={services} seriesOf={(name) => stats[name] ?? EMPTY_SERIES} />
    </main>
  );
}

const root = document.getElementById('root');
if (root)
  createRoot(root).render(
    <StrictMode>
      <NaiveServices />
    </StrictMode>,
  );
