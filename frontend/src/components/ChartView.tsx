import {
  Area, AreaChart, Bar, BarChart, CartesianGrid, Cell, Legend, Line, LineChart, Pie, PieChart,
  ResponsiveContainer, Scatter, ScatterChart, Tooltip, XAxis, YAxis,
} from 'recharts';
import type { ChartSpec, FieldFormat, QueryResult } from '../api';
import { defaultFormat, formatValue, humanLabel } from '../charts/format';
import { shape } from '../charts/shape';
import { color } from './LiveChart';

export type ChartKind = NonNullable<ChartSpec['kind']>;
export const CHART_KINDS: ChartKind[] = ['bar', 'line', 'area', 'big_number', 'pie', 'donut',
  'scatter', 'histogram', 'heatmap', 'pivot', 'table'];

type Drawn = Pick<ChartSpec, 'x' | 'y' | 'title'> & Partial<ChartSpec>;

/** Draws an analytics result: `x` on the horizontal axis, one series per `y` column (or
 * per value of `series`), with formatted values, axis titles and human labels.
 * `onSelect(x value)` is called when a bar, point or slice is clicked (cross-filter). */
/** The chart tooltips' box, in the theme's colours. */
export const TOOLTIP_STYLE = { background: 'var(--card)', border: '1px solid var(--line)', color: 'var(--fg)' };

export function ChartView({ result, chart, height = 260, onSelect, stale = false }: {
  result: QueryResult; chart: Drawn; height?: number | `${number}%`;
  onSelect?: (value: unknown) => void;
  /** The last result, shown while a refresh fails. */
  stale?: boolean;
}) {
  const kind: ChartKind = chart.kind ?? 'bar';
  const types = Object.fromEntries(result.columns.map((c) => [c.name, c.type]));
  const fmt = (column: string): FieldFormat => chart.formats?.[column] ?? defaultFormat(column, types[column]);
  const label = (column: string) => humanLabel(column, chart.labels ?? undefined);
  const { rows, series } = shape(result, chart);
  const seriesLabel = (key: string) => {
    const s = series.find((x) => x.key === key);
    if (!s || s.split === null) return label(key);
    return chart.y.length > 1 ? `${label(s.metric)} · ${String(s.split)}` : String(s.split);
  };
  const metricFmt = (key: string) => fmt(series.find((s) => s.key === key)?.metric ?? key);
  const xFmt = fmt(chart.x);
  const notice = result.truncated && (
    <p className="notice" role="note">Showing the first {result.row_count.toLocaleString()} rows: the result was truncated (raise the limit or aggregate further).</p>
  );
  const caption = <figcaption>{chart.title}{stale && <span className="muted"> · last loaded result</span>}</figcaption>;
  const described = `${chart.title}: ${kind} chart of ${series.map((s) => s.key).join(', ')} by ${chart.x}`;

  if (kind === 'table' || kind === 'pivot' || kind === 'heatmap') {
    const columns = kind === 'table' ? result.columns.map((c) => c.name) : [chart.x, ...series.map((s) => s.key)];
    const source = kind === 'table'
      ? result.rows.map((r) => Object.fromEntries(result.columns.map((c, i) => [c.name, r[i]])))
      : rows;
    const numbers = kind === 'heatmap' ? source.flatMap((r) => series.map((s) => r[s.key])).filter((v): v is number => typeof v === 'number') : [];
    const lo = Math.min(...numbers);
    const hi = Math.max(...numbers);
    return (
      <figure className="chart" aria-label={described}>
        {caption}
        <div className="table-wrap" style={{ maxHeight: typeof height === 'number' ? height : undefined }}>
          <table>
            <thead><tr>{columns.map((c) => <th key={c} scope="col">{c === chart.x ? label(c) : kind === 'table' ? label(c) : seriesLabel(c)}</th>)}</tr></thead>
            <tbody>
              {source.map((r, i) => (
                <tr key={i}>
                  {columns.map((c, j) => {
                    const v = r[c];
                    const heat = kind === 'heatmap' && j > 0 && typeof v === 'number' && hi > lo ? (v - lo) / (hi - lo) : null;
                    return (
                      <td key={c} className={typeof v === 'number' ? 'num' : undefined}
                          style={heat === null ? undefined : { background: `rgba(78, 121, 167, ${0.1 + 0.8 * heat})`, color: heat > 0.55 ? '#fff' : undefined }}>
                        {formatValue(v, j === 0 ? xFmt : kind === 'table' ? fmt(c) : metricFmt(c))}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {notice}
      </figure>
    );
  }

  if (kind === 'big_number') {
    const key = series[0]?.key ?? chart.y[0] ?? '';
    const values = rows.map((r) => r[key]).filter((v): v is number => typeof v === 'number');
    const last = values.length ? values[values.length - 1] ?? null : null;
    const previous = values.length > 1 ? values[values.length - 2] ?? null : null;
    const change = last !== null && previous ? (last - previous) / Math.abs(previous) : null;
    return (
      <figure className="chart big-number" aria-label={described}>
        {caption}
        <p className="big-value" data-testid="big-number">{formatValue(last, metricFmt(key))}</p>
        <p className="muted">{seriesLabel(key)}
          {change !== null && (
            <span className={change >= 0 ? 'trend up' : 'trend down'}>
              {' '}{change >= 0 ? '▲' : '▼'} {formatValue(Math.abs(change), { style: 'percent' })} vs previous
            </span>
          )}
        </p>
        {notice}
      </figure>
    );
  }

  const tooltip = (
    <Tooltip
      formatter={(value, name) => [formatValue(value, metricFmt(String(name))), seriesLabel(String(name))]}
      labelFormatter={(value) => formatValue(value, xFmt)}
      contentStyle={TOOLTIP_STYLE}
    />
  );
  const click = onSelect ? (data: unknown) => {
    const payload = (data as { payload?: Record<string, unknown>; activeLabel?: unknown } | undefined);
    const value = payload?.payload?.[chart.x] ?? payload?.activeLabel;
    if (value !== undefined && value !== 'Other') onSelect(value);
  } : undefined;

  if (kind === 'pie' || kind === 'donut') {
    const key = series[0]?.key ?? '';
    return (
      <figure className="chart" role="img" aria-label={described}>
        {caption}
        <ResponsiveContainer width="100%" height={height}>
          <PieChart>
            <Pie data={rows} dataKey={key} nameKey={chart.x} isAnimationActive={false}
                 innerRadius={kind === 'donut' ? '55%' : 0} outerRadius="80%"
                 onClick={click} label={(p: { name?: unknown }) => formatValue(p.name, xFmt)}>
              {rows.map((_, i) => <Cell key={i} fill={color(i)} cursor={onSelect ? 'pointer' : undefined} />)}
            </Pie>
            <Tooltip formatter={(value) => [formatValue(value, metricFmt(key)), seriesLabel(key)]}
                     contentStyle={TOOLTIP_STYLE} />
          </PieChart>
        </ResponsiveContainer>
        {notice}
      </figure>
    );
  }

  const xAxis = (numeric: boolean) => (
    <XAxis dataKey={chart.x} type={numeric ? 'number' : 'category'} domain={numeric ? ['auto', 'auto'] : undefined}
           tickFormatter={(v) => formatValue(v, xFmt)} minTickGap={16} stroke="var(--muted)"
           label={{ value: chart.x_title ?? label(chart.x), position: 'insideBottom', offset: -4, fill: 'var(--muted)' }} />
  );
  const yTitle = chart.y_title ?? (series.length === 1 || chart.series ? label(chart.y[0] ?? '') : '');
  const yAxis = (
    <YAxis width={72} stroke="var(--muted)"
           tickFormatter={(v) => formatValue(v, { ...metricFmt(series[0]?.key ?? ''), style: 'compact' })}
           label={yTitle ? { value: yTitle, angle: -90, position: 'insideLeft', fill: 'var(--muted)', style: { textAnchor: 'middle' } } : undefined} />
  );
  // Bars and slices take the click themselves (their payload is the row); lines, areas and
  // points take it on the chart (the hovered category).
  const common = { data: rows, margin: { top: 8, right: 16, bottom: 20, left: 8 }, onClick: click };
  const grid = <CartesianGrid strokeDasharray="3 3" stroke="var(--line)" />;
  const legend = series.length > 1 ? <Legend formatter={(v) => seriesLabel(String(v))} verticalAlign="top" /> : null;
  return (
    <figure className="chart" role="img" aria-label={described}>
      {caption}
      <ResponsiveContainer width="100%" height={height}>
        {kind === 'line' ? (
          <LineChart {...common}>{grid}{xAxis(false)}{yAxis}{tooltip}{legend}
            {series.map((s, i) => <Line key={s.key} dataKey={s.key} stroke={color(i)} strokeWidth={2}
                                        dot={rows.length < 40} isAnimationActive={false} />)}
          </LineChart>
        ) : kind === 'area' ? (
          <AreaChart {...common}>{grid}{xAxis(false)}{yAxis}{tooltip}{legend}
            {series.map((s, i) => <Area key={s.key} dataKey={s.key} stroke={color(i)} fill={color(i)}
                                        fillOpacity={0.25} isAnimationActive={false} />)}
          </AreaChart>
        ) : kind === 'scatter' ? (
          <ScatterChart {...common}>{grid}{xAxis(true)}{yAxis}{tooltip}{legend}
            {series.map((s, i) => <Scatter key={s.key} dataKey={s.key} fill={color(i)} isAnimationActive={false} />)}
          </ScatterChart>
        ) : (
          <BarChart {...common} onClick={undefined} barCategoryGap={kind === 'histogram' ? 0 : '15%'}>{grid}{xAxis(false)}{yAxis}{tooltip}{legend}
            {series.map((s, i) => <Bar key={s.key} dataKey={s.key} fill={color(i)} isAnimationActive={false} onClick={click}
                                       cursor={onSelect ? 'pointer' : undefined} />)}
          </BarChart>
        )}
      </ResponsiveContainer>
      {notice}
    </figure>
  );
}
