import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export type Series = { label: string; values: (number | null)[]; color: string };

const PALETTE = ['#1d4ed8', '#dc2626', '#059669', '#d97706', '#7c3aed', '#0891b2', '#be185d',
  '#4d7c0f', '#9333ea', '#475569'];
export const color = (i: number): string => PALETTE[i % PALETTE.length] ?? '#1d4ed8';

/** A live time series (uPlot: canvas, cheap to update once a second). */
export function LiveChart({ title, times, series, height = 180, unit = '', windowSeconds = 120 }: {
  title: string;
  times: number[];
  series: Series[];
  height?: number;
  unit?: string;
  windowSeconds?: number;
}) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const labels = series.map((s) => s.label).join('|');

  useEffect(() => {
    const el = host.current;
    if (!el) return undefined;
    const options: uPlot.Options = {
      width: Math.max(240, el.clientWidth),
      height,
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2,
        value: (_u: uPlot, v: number | null) => (v == null ? '–' : `${v.toFixed(2)}${unit}`) }))],
      axes: [{}, { size: 50 }],
      // A rolling window ending at the newest point (stable even with one point).
      scales: { x: { time: true, range: (_u, _min, max) => [max - windowSeconds, max] } },
      legend: { live: false },
    };
    plot.current = new uPlot(options, [times, ...series.map((s) => s.values)], el);
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(240, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
    // Rebuild only when the set of series changes; data updates go through setData.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [labels, height, unit, windowSeconds]);

  useEffect(() => {
    plot.current?.setData([times, ...series.map((s) => s.values)]);
  }, [times, series]);

  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <div ref={host} role="img" aria-label={`${title}: live chart`} />
    </figure>
  );
}
