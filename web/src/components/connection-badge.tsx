/** The connection's state, always in the header: live, reconnecting (and when), or polling and why. */
import { useEffect, useState } from 'react';
import { relative } from '../format.ts';
import { useConnectionState } from '../live/live-context.tsx';

export function ConnectionBadge() {
  const state = useConnectionState();
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (state.retryAtMs === null) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [state.retryAtMs]);
  const retry = state.retryAtMs === null ? '' : `; retrying the stream ${relative(state.retryAtMs, now)}`;
  const text = {
    connecting: 'connecting…',
    live: 'live',
    reconnecting: `reconnecting${retry}`,
    polling: `polling every 2 s: live stream unavailable${retry}`,
    stopped: 'offline',
  }[state.mode];
  return (
    <output
      className={`connection connection-${state.mode}`}
      title={state.detail ?? undefined}
      data-mode={state.mode}
    >
      <span className="dot" aria-hidden="true" />
      {text}
    </output>
  );
}
