/**
 * A button that calls the API: disabled while in flight, an optional confirmation, and the API's
 * error shown beside it (a 403 says which role the action needs).
 */
import type { ReactNode } from 'react';
import { useState } from 'react';

export function ActionButton({
  onAct,
  confirm,
  children,
  danger = false,
  label,
}: {
  onAct: () => Promise<unknown>;
  confirm?: string;
  children: ReactNode;
  danger?: boolean;
  label?: string;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const act = async () => {
    if (confirm && !window.confirm(confirm)) return;
    setBusy(true);
    setError(null);
    try {
      await onAct();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <span className="action">
      <button
        type="button"
        className={danger ? 'danger' : undefined}
        disabled={busy}
        onClick={act}
        aria-label={label}
      >
        {children}
      </button>
      {error && (
        <span className="error" role="alert">
          {error}
        </span>
      )}
    </span>
  );
}

export function StatusPill({ status }: { status: string }) {
  return <span className={`pill pill-${status}`}>{status}</span>;
}
