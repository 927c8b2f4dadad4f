import { useEffect, useRef, useSyncExternalStore } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export type Series = { label: string; values: (number | null)[]; color: string };

// Tableau 10: distinguishable, and readable on light and dark backgrounds alike.
const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1',
  '#ff9da7', '#9c755f', '#bab0ac'];
export const color = (i: number): string => PALETTE[i % PALETTE.length] ?? '#1d4ed8';
const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const compact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });

/** The `data-theme` on <html>, re-read when it changes. */
function useTheme(): string {
  return useSyncExternalStore((notify) => {
    const watch = new MutationObserver(notify);
    watch.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });
    return () => watch.disconnect();
  }, () => document.documentElement.dataset.theme ?? 'light');
}

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
  const theme = useTheme(); // the canvas takes its axis colours from the theme

  useEffect(() => {
    const el = host.current;
    if (!el) return undefined;
    const css = getComputedStyle(document.documentElement);
    const ink = css.getPropertyValue('--muted').trim() || '#526077';
    const line = css.getPropertyValue('--line').trim() || '#e2e8f0';
    const options: uPlot.Options = {
      width: Math.max(240, el.clientWidth),
      height,
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2,
        value: (_u: uPlot, v: number | null) => (v == null ? '–' : `${v.toFixed(2)}${unit}`) }))],
      // Clock times only (the window is minutes), at least 80 px apart: no overlapping labels.
      axes: [
        { stroke: ink, grid: { stroke: line }, ticks: { stroke: line }, space: 80,
          values: (_u: uPlot, ticks: number[]) => ticks.map((t) => clock.format(new Date(t * 1000))) },
        { stroke: ink, grid: { stroke: line }, ticks: { stroke: line }, size: 56,
          values: (_u: uPlot, ticks: number[]) => ticks.map((v) => `${compact.format(v)}${unit}`) },
      ],
      // A rolling window ending at the newest point (stable even with one point).
      scales: { x: { time: true, range: (_u, _min, max) => [max - windowSeconds, max] } },
      // Hovering shows each series' value at that time in the legend.
      legend: { live: true },
      cursor: { points: { size: 8 } },
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
  }, [labels, height, unit, windowSeconds, theme]);

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
