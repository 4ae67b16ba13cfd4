/**
 * Numbers as people read them in a table: CPU cores from millicores, binary byte sizes (Mi, Gi),
 * and short ages (`45s`, `5m`, `2h`, `3d`). Pure; the caller passes `now`.
 */

/** 500 → "0.5", 2000 → "2", 1234 → "1.23": cores with at most two decimals. */
export function formatCores(millicores: number): string {
  return String(Number((millicores / 1000).toFixed(2)));
}

const BYTE_UNITS = ['Ki', 'Mi', 'Gi', 'Ti', 'Pi'] as const;

/** 536870912 → "512Mi", 25125558681 → "23.4Gi": one decimal, dropped when whole. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes}B`;
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  // Rounding can reach 1024 (1023.96Mi), which reads better as the next unit.
  if (Number(value.toFixed(1)) >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${Number(value.toFixed(1))}${BYTE_UNITS[unit]}`;
}

/** A span in the largest unit that fits, rounded down: 59s, 5m, 2h, 3d. Negative spans read 0s. */
export function formatSpan(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

/** Local time as `YYYY-MM-DD HH:MM:SS`, or the text unchanged when it is not a timestamp. */
export function formatLocalTime(timestamp: string): string {
  const date = new Date(timestamp);
  if (Number.isNaN(date.getTime())) return timestamp;
  const two = (value: number) => String(value).padStart(2, '0');
  const day = `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())}`;
  return `${day} ${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}
