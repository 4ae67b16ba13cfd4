/**
 * Windowing for long lists of fixed-height rows: only the rows in (or near) the viewport are
 * rendered, so a stream burst over 500 services re-renders a screenful of rows, not 500.
 * `rowRange` is the pure part; `useRowWindow` follows the window's scroll and size.
 */
import type { RefObject } from 'react';
import { useLayoutEffect, useState } from 'react';

export interface RowRange {
  readonly start: number;
  readonly end: number;
}

/**
 * The rows to render: those whose box meets the viewport, plus `overscan` either side.
 * `listTopPx` is the list's top relative to the viewport's (negative once scrolled past).
 */
export function rowRange(
  listTopPx: number,
  viewportPx: number,
  count: number,
  rowPx: number,
  overscan: number,
): RowRange {
  const first = Math.floor(Math.max(0, -listTopPx) / rowPx);
  const last = Math.ceil(Math.max(0, viewportPx - listTopPx) / rowPx);
  return { start: Math.min(count, Math.max(0, first - overscan)), end: Math.min(count, last + overscan) };
}

export function useRowWindow(
  list: RefObject<HTMLElement | null>,
  count: number,
  rowPx: number,
  // A few rows either side: enough for a scroll's next frame, few enough that a burst that changes
  // every row re-renders little more than a screenful.
  overscan = 4,
): RowRange {
  const [range, setRange] = useState<RowRange>({ start: 0, end: Math.min(count, 60) });
  useLayoutEffect(() => {
    let frame: number | undefined;
    const measure = () => {
      frame = undefined;
      const element = list.current;
      if (!element) return;
      const next = rowRange(element.getBoundingClientRect().top, window.innerHeight, count, rowPx, overscan);
      setRange((old) => (old.start === next.start && old.end === next.end ? old : next));
    };
    const schedule = () => {
      frame ??= requestAnimationFrame(measure);
    };
    measure();
    window.addEventListener('scroll', schedule, { passive: true });
    window.addEventListener('resize', schedule);
    return () => {
      window.removeEventListener('scroll', schedule);
      window.removeEventListener('resize', schedule);
      if (frame !== undefined) cancelAnimationFrame(frame);
    };
  }, [list, count, rowPx, overscan]);
  return range;
}
