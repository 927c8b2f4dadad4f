import {
  Area, AreaChart, Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer,
  Tooltip, XAxis, YAxis,
} from 'recharts';
import type { QueryResult } from '../api';
import { DataTable } from './DataTable';
import { color } from './LiveChart';

export type ChartKind = 'line' | 'bar' | 'area' | 'table';

/** Draws an analytics result: `x` on the horizontal axis, one series per `y` column. */
export function ChartView({ result, kind, x, y, title }: {
  result: QueryResult; kind: ChartKind; x: string; y: string[]; title: string;
}) {
  const names = result.columns.map((c) => c.name);
  if (kind === 'table') return <DataTable caption={title} columns={names} rows={result.rows} />;
  const data = result.rows.map((row) => Object.fromEntries(names.map((n, i) => [n, row[i]])));
  const series = y.filter((c) => names.includes(c));
  const common = { data, margin: { top: 8, right: 16, bottom: 8, left: 8 } };
  const axes = [
    <CartesianGrid key="g" strokeDasharray="3 3" />,
    <XAxis key="x" dataKey={x} />,
    <YAxis key="y" width={56} />,
    <Tooltip key="t" />,
    <Legend key="l" />,
  ];
  return (
    <figure className="chart" role="img" aria-label={`${title}: ${kind} chart of ${series.join(', ')} by ${x}`}>
      <figcaption>{title}</figcaption>
      <ResponsiveContainer width="100%" height={240}>
        {kind === 'line' ? (
          <LineChart {...common}>{axes}{series.map((s, i) => (
            <Line key={s} dataKey={s} stroke={color(i)} dot={false} isAnimationActive={false} />))}
          </LineChart>
        ) : kind === 'area' ? (
          <AreaChart {...common}>{axes}{series.map((s, i) => (
            <Area key={s} dataKey={s} stroke={color(i)} fill={color(i)} isAnimationActive={false} />))}
          </AreaChart>
        ) : (
          <BarChart {...common}>{axes}{series.map((s, i) => (
            <Bar key={s} dataKey={s} fill={color(i)} isAnimationActive={false} />))}
          </BarChart>
        )}
      </ResponsiveContainer>
    </figure>
  );
}
