/**
 * A small uPlot chart of a series. The chart is made only while it is on screen (a list of 500
 * services does not hold 500 canvases), and new points go in with `setData`, never a new chart.
 */
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatBytes, formatCpu } from '../format.ts';
import type { Series } from '../live/stats-series.ts';

export interface SparklineProps {
  readonly series: Series;
  readonly field: 'cpu' | 'memory';
  readonly width: number;
  readonly height: number;
  readonly label: string;
  /** Axes and a legend: a chart rather than a sparkline. */
  readonly full?: boolean;
}

export function Sparkline({ series, field, width, height, label, full = false }: SparklineProps) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | undefined>(undefined);
  const latest = useRef(series);
  latest.current = series;

  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const data = (s: Series): uPlot.AlignedData => [s.t as number[], s[field] as number[]];
    const make = () => {
      if (chart.current) return;
      chart.current = new uPlot(
        {
          width,
          height,
          legend: { show: false },
          cursor: { show: full, y: false },
          axes: full
            ? [
                {},
                {
                  size: 70,
                  values: (_u, ticks) => ticks.map((v) => (field === 'cpu' ? formatCpu(v) : formatBytes(v))),
                },
              ]
            : [{ show: false }, { show: false }],
          scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(max, 1)] } },
          series: [
            {},
            { label, stroke: field === 'cpu' ? '#2f7ed8' : '#8e44ad', width: 1.5, points: { show: false } },
          ],
        },
        data(latest.current),
        element,
      );
    };
    const observer = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        if (entry.isIntersecting) make();
        else {
          chart.current?.destroy();
          chart.current = undefined;
        }
      }
    });
    observer.observe(element);
    return () => {
      observer.disconnect();
      chart.current?.destroy();
      chart.current = undefined;
    };
  }, [field, width, height, label, full]);

  useEffect(() => {
    chart.current?.setData([series.t as number[], series[field] as number[]]);
  }, [series, field]);

  return <div ref={box} className="sparkline" style={{ width, height }} role="img" aria-label={label} />;
}
