/** Turning an analytics result into what a chart draws: one row per x value, one series
 * per metric (or per metric x value of the `series` column), sorted, top-N with "Other". */
import type { ChartSpec, QueryResult } from '../api';

export type Shaped = {
  rows: Record<string, unknown>[];
  /** Series keys in `rows`, with the metric each came from and its split value. */
  series: { key: string; metric: string; split: unknown }[];
};

const OTHER = 'Other';

export function shape(result: QueryResult, chart: Pick<ChartSpec, 'x' | 'y' | 'series' | 'sort' | 'top_n'>): Shaped {
  const names = result.columns.map((c) => c.name);
  const metrics = chart.y.filter((m) => names.includes(m));
  const xi = names.indexOf(chart.x);
  let rows: Record<string, unknown>[];
  let series: Shaped['series'];
  if (chart.series && names.includes(chart.series) && chart.series !== chart.x) {
    const si = names.indexOf(chart.series);
    const byX = new Map<unknown, Record<string, unknown>>();
    const splits: unknown[] = [];
    for (const row of result.rows) {
      const x = row[xi];
      const split = row[si];
      if (!splits.includes(split)) splits.push(split);
      let target = byX.get(x);
      if (!target) {
        target = { [chart.x]: x };
        byX.set(x, target);
      }
      for (const m of metrics) target[metrics.length > 1 ? `${m} · ${String(split)}` : String(split)] = row[names.indexOf(m)];
    }
    rows = [...byX.values()];
    series = splits.flatMap((split) => metrics.map((m) => ({
      key: metrics.length > 1 ? `${m} · ${String(split)}` : String(split), metric: m, split })));
  } else {
    rows = result.rows.map((row) => Object.fromEntries(names.map((n, i) => [n, row[i]])));
    series = metrics.map((m) => ({ key: m, metric: m, split: null }));
  }
  const total = (r: Record<string, unknown>) =>
    series.reduce((acc, s) => acc + (typeof r[s.key] === 'number' ? (r[s.key] as number) : 0), 0);
  if (chart.sort === 'value_desc') rows.sort((a, b) => total(b) - total(a));
  else if (chart.sort === 'value_asc') rows.sort((a, b) => total(a) - total(b));
  if (chart.top_n && rows.length > chart.top_n) {
    const ranked = [...rows].sort((a, b) => total(b) - total(a));
    const keep = new Set(ranked.slice(0, chart.top_n));
    const rest = rows.filter((r) => !keep.has(r));
    const other: Record<string, unknown> = { [chart.x]: OTHER };
    for (const s of series) other[s.key] = rest.reduce((acc, r) => acc + (typeof r[s.key] === 'number' ? (r[s.key] as number) : 0), 0);
    rows = [...rows.filter((r) => keep.has(r)), other];
  }
  return { rows, series };
}
