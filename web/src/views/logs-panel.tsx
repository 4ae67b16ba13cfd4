/**
 * A service's logs through the API's follow stream (NDJSON): lines from every replica merged in
 * time order, replicas placed later joining. Lines arrive in bursts and are shown once per frame;
 * the last MAX_LINES are kept. Search and the replica filter are in the URL.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { apiFetch } from '../api/http.ts';
import type { LogLine, ServiceView } from '../api/types.ts';
import { replaceParam, useRoute } from '../router.ts';

const MAX_LINES = 5000;
const TAIL_LINES = 200;

/** A line and its place in arrival order (its key: lines carry no id). */
type Numbered = LogLine & { readonly n: number };

export function LogsPanel({ service }: { service: ServiceView }) {
  const { params } = useRoute();
  const search = params.get('q') ?? '';
  const replica = params.get('replica') ?? '';
  const [follow, setFollow] = useState(true);
  const [lines, setLines] = useState<readonly Numbered[]>([]);
  const [state, setState] = useState('connecting');
  const box = useRef<HTMLPreElement>(null);
  const counter = useRef(0);

  useEffect(() => {
    if (!follow) return;
    const abort = new AbortController();
    let pending: Numbered[] = [];
    let frame: number | undefined;
    const show = () => {
      frame = undefined;
      const more = pending;
      pending = [];
      setLines((old) => {
        const joined = old.concat(more);
        return joined.length > MAX_LINES ? joined.slice(joined.length - MAX_LINES) : joined;
      });
    };
    const path = `/api/services/${encodeURIComponent(service.name)}/logs?follow=true&format=ndjson&tail=${TAIL_LINES}`;
    (async () => {
      const response = await apiFetch('GET', path, { signal: abort.signal });
      setState('following');
      const reader = response.body?.pipeThrough(new TextDecoderStream()).getReader();
      if (!reader) return;
      let rest = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        rest += value;
        const parts = rest.split('\n');
        rest = parts.pop() ?? '';
        for (const part of parts) {
          if (part === '') continue;
          try {
            const line = JSON.parse(part) as LogLine | { error: string };
            if ('error' in line) setState(line.error);
            else pending.push({ ...line, n: counter.current++ });
          } catch {
            // A torn or foreign line: skipped rather than stopping the stream.
          }
        }
        if (pending.length > 0 && frame === undefined) frame = requestAnimationFrame(show);
      }
      setState('ended');
    })().catch((error: unknown) => {
      if (!abort.signal.aborted) setState(error instanceof Error ? error.message : String(error));
    });
    return () => {
      abort.abort();
      if (frame !== undefined) cancelAnimationFrame(frame);
      setState('paused');
    };
  }, [service.name, follow]);

  const shown = useMemo(
    () =>
      lines.filter(
        (l) => (replica === '' || l.container === replica) && (search === '' || l.line.includes(search)),
      ),
    [lines, replica, search],
  );

  useEffect(() => {
    const element = box.current;
    if (follow && element && shown.length >= 0) element.scrollTop = element.scrollHeight;
  }, [shown, follow]);

  const replicas = [...new Set(service.containers.map((c) => c.name))].sort();
  return (
    <div className="logs">
      <div className="toolbar">
        <label>
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> Follow
        </label>
        <input
          type="search"
          placeholder="Search"
          aria-label="Search logs"
          value={search}
          onChange={(e) => replaceParam('q', e.target.value)}
        />
        <select
          aria-label="Replica"
          value={replica}
          onChange={(e) => replaceParam('replica', e.target.value)}
        >
          <option value="">all replicas</option>
          {replicas.map((r) => (
            <option key={r}>{r}</option>
          ))}
        </select>
        <span className="muted" data-testid="logs-state">
          {state}, {shown.length} of {lines.length} lines
        </span>
        <button type="button" onClick={() => setLines([])}>
          Clear
        </button>
      </div>
      <pre ref={box} className="log-lines">
        {shown.map((l) => (
          <div key={l.n} className={l.stream === 'stderr' ? 'stderr' : undefined}>
            <span className="log-source">{l.container} | </span>
            {l.line}
          </div>
        ))}
      </pre>
    </div>
  );
}
