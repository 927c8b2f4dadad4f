import { useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import {
  analyticsApi, api, problemMessage, type Aggregation, type ChartSpec, type Query,
} from '../api';
import { canWrite } from '../auth/authSlice';
import { humanLabel } from '../charts/format';
import { CHART_KINDS, ChartView, type ChartKind } from '../components/ChartView';
import { ErrorText } from '../components/ErrorText';
import { usePageTitle } from '../components/usePageTitle';
import { useAppDispatch, useAppSelector } from '../hooks';
import { defaultLayout } from './Dashboard';
import { editDashboard } from '../offline/editDashboard';

const AGG_OPS = ['count', 'sum', 'mean', 'min', 'max', 'std', 'count_distinct'] as const;
const BUCKETS = ['', 'hour', 'day', 'week', 'month', 'quarter', 'year'] as const;
const KIND_NAMES: Record<ChartKind, string> = {
  bar: 'Bar', line: 'Line', area: 'Area', big_number: 'Big number', pie: 'Pie', donut: 'Donut',
  scatter: 'Scatter', histogram: 'Histogram', heatmap: 'Heatmap', pivot: 'Pivot table', table: 'Table',
};
type Metric = { op: (typeof AGG_OPS)[number]; column: string };

const outputName = (m: Metric) => (m.op === 'count' && !m.column ? 'count' : `${m.column}_${m.op}`);

export default function Analytics() {
  usePageTitle('Analytics');
  const dispatch = useAppDispatch();
  const [params] = useSearchParams();
  const role = useAppSelector((s) => s.auth.user?.role);
  const writer = canWrite(role);
  const { data: datasets } = api.useGetApiV1DatasetsQuery({ limit: 200 });
  const { data: dashboards } = api.useGetApiV1DashboardsQuery({ limit: 100 });
  const [createDashboard, { isLoading: creating }] = api.usePostApiV1DashboardsMutation();
  const [datasetId, setDatasetId] = useState('');
  const [groupBy, setGroupBy] = useState('');
  const [bucket, setBucket] = useState<(typeof BUCKETS)[number]>('');
  const [splitBy, setSplitBy] = useState('');
  const [metrics, setMetrics] = useState<Metric[]>([{ op: 'count', column: '' }]);
  const [filter, setFilter] = useState('');
  const [kind, setKind] = useState<ChartKind>('bar');
  const [sort, setSort] = useState<NonNullable<ChartSpec['sort']>>('x');
  const [topN, setTopN] = useState('');
  const [title, setTitle] = useState('');
  const [labels, setLabels] = useState<Record<string, string>>({});
  const [target, setTarget] = useState(params.get('dashboard') ?? 'new');
  const [newName, setNewName] = useState('');
  const [saveNote, setSaveNote] = useState<{ text: string; link?: string; error?: boolean } | null>(null);
  const [query, setQuery] = useState<Query | null>(null);
  const dataset = datasets?.items.find((d) => d.id === datasetId);
  const columns = dataset?.latest?.columns ?? [];
  const timeColumn = columns.find((c) => c.name === groupBy && (c.type === 'timestamp' || c.type === 'date'));
  // `currentData` is the result of *this* query only: a failed or new query never shows
  // the previous one's result.
  const { currentData: result, error, isFetching } = analyticsApi.useAnalyticsQuery(
    query && datasetId ? { datasetId, query } : { datasetId: '', query: {} }, { skip: !query || !datasetId });

  // A bucket applies to a date or timestamp group only (it stays chosen for the next one).
  const timeBucket = timeColumn ? bucket : '';
  const xColumn = groupBy ? (timeBucket ? `${groupBy}_${timeBucket}` : groupBy) : '';
  const build = (): Query => {
    const keys = groupBy ? [timeBucket ? { column: groupBy, bucket: timeBucket } : groupBy] : [];
    if (splitBy && splitBy !== groupBy) keys.push(splitBy);
    return {
      group_by: keys,
      aggregations: metrics.map((m): Aggregation => (m.op === 'count' && !m.column ? { op: 'count' } : { op: m.op, column: m.column })),
      filter: filter || null,
      // Order by the result's own column (time_hour_month), so a time series is in time order.
      order_by: xColumn ? [{ column: xColumn }] : [],
      limit: 5000,
    };
  };
  const x = xColumn || (result?.columns[0]?.name ?? '');
  const y = metrics.map(outputName);
  const chartTitle = title || `${y.map((m) => humanLabel(m, labels)).join(', ')}${x ? ` by ${humanLabel(x)}` : ''}`;
  const spec: Omit<ChartSpec, 'id' | 'dataset_id' | 'query'> = {
    title: chartTitle, kind, x, y, series: splitBy && splitBy !== groupBy ? splitBy : null,
    labels, sort, top_n: topN ? Number(topN) : null,
  };

  const run = (event: FormEvent) => {
    event.preventDefault();
    setSaveNote(null);
    setQuery(build());
  };
  const updateMetric = (i: number, patch: Partial<Metric>) => setMetrics(metrics.map((m, j) => (j === i ? { ...m, ...patch } : m)));

  const saveChart = async () => {
    if (!query || !result) return;
    setSaveNote(null);
    const id = crypto.randomUUID().slice(0, 8);
    try {
      if (target === 'new') {
        const chart: ChartSpec = { ...spec, id, dataset_id: datasetId, query, layout: { x: 0, y: 0, w: 6, h: 7 } };
        const board = await createDashboard({ dashboardCreate: { name: newName || chartTitle, charts: [chart] } }).unwrap();
        setSaveNote({ text: `Saved to the new dashboard “${board.name}”`, link: `/dashboards/${board.id}` });
      } else {
        const board = dashboards?.items.find((d) => d.id === target);
        if (!board) return;
        const bottom = Math.max(0, ...board.charts.map((c, i) => (c.layout?.y ?? defaultLayout(i).y) + (c.layout?.h ?? 7)));

        const chart: ChartSpec = { ...spec, id, dataset_id: datasetId, query, layout: { x: 0, y: bottom, w: 6, h: 7 } };
        const outcome = await editDashboard(dispatch, board, { name: board.name, charts: [...board.charts, chart] });
        setSaveNote(outcome === 'saved' ? { text: `Added to “${board.name}”`, link: `/dashboards/${board.id}` }
          : outcome === 'queued' ? { text: 'Offline: queued, saved on reconnect' } : { text: outcome.error, error: true });
      }
    } catch (e) {
      setSaveNote({ text: problemMessage(e as Parameters<typeof problemMessage>[0]), error: true });
    }
  };

  return (
    <section aria-labelledby="analytics-title">
      <h1 id="analytics-title">Analytics</h1>
      <form className="card" onSubmit={run} aria-label="Query builder">
        <div className="row">
          <label>
            Dataset
            <select required value={datasetId} onChange={(e) => { setDatasetId(e.target.value); setQuery(null); setGroupBy(''); setSplitBy(''); }}>
              <option value="">choose…</option>
              {datasets?.items.map((d) => <option key={d.id} value={d.id}>{d.name}</option>)}
            </select>
          </label>
          <label>
            Group by
            <select value={groupBy} onChange={(e) => setGroupBy(e.target.value)}>
              <option value="">(none)</option>
              {columns.map((c) => <option key={c.name} value={c.name}>{c.name}</option>)}
            </select>
          </label>
          <label>
            Time bucket
            <select value={bucket} disabled={!timeColumn} onChange={(e) => setBucket(e.target.value as (typeof BUCKETS)[number])}>
              {BUCKETS.map((b) => <option key={b} value={b}>{b || '(none)'}</option>)}
            </select>
          </label>
          <label>
            Split by
            <select value={splitBy} onChange={(e) => setSplitBy(e.target.value)}>
              <option value="">(none)</option>
              {columns.filter((c) => c.name !== groupBy).map((c) => <option key={c.name} value={c.name}>{c.name}</option>)}
            </select>
          </label>
          <label>Filter<input value={filter} placeholder="e.g. amount > 10 and origin == 'JFK'" onChange={(e) => setFilter(e.target.value)} /></label>
        </div>
        <fieldset>
          <legend>Metrics</legend>
          {metrics.map((m, i) => (
            <div className="row" key={i}>
              <label>
                {i === 0 ? 'Aggregation' : `Aggregation ${i + 1}`}
                <select value={m.op} onChange={(e) => updateMetric(i, { op: e.target.value as Metric['op'] })}>
                  {AGG_OPS.map((op) => <option key={op}>{op}</option>)}
                </select>
              </label>
              <label>
                {i === 0 ? 'Of column' : `Of column ${i + 1}`}
                <select value={m.column} onChange={(e) => updateMetric(i, { column: e.target.value })}>
                  <option value="">(rows)</option>
                  {columns.map((c) => <option key={c.name} value={c.name}>{c.name}</option>)}
                </select>
              </label>
              <label>
                {i === 0 ? 'Label' : `Label ${i + 1}`}
                <input value={labels[outputName(m)] ?? ''} placeholder={humanLabel(outputName(m))}
                       onChange={(e) => setLabels({ ...labels, [outputName(m)]: e.target.value })} />
              </label>
              {metrics.length > 1 && <button type="button" className="secondary" onClick={() => setMetrics(metrics.filter((_, j) => j !== i))}>Remove</button>}
            </div>
          ))}
          <button type="button" className="secondary" onClick={() => setMetrics([...metrics, { op: 'mean', column: '' }])}>Add metric</button>
        </fieldset>
        <div className="row">
          <label>
            Chart
            <select value={kind} onChange={(e) => setKind(e.target.value as ChartKind)}>
              {CHART_KINDS.map((k) => <option key={k} value={k}>{KIND_NAMES[k]}</option>)}
            </select>
          </label>
          <label>
            Sort
            <select value={sort} onChange={(e) => setSort(e.target.value as typeof sort)}>
              <option value="x">by the group (time order)</option>
              <option value="value_desc">by value, largest first</option>
              <option value="value_asc">by value, smallest first</option>
            </select>
          </label>
          <label>Top N (rest as “Other”)<input type="number" min={1} max={1000} value={topN} onChange={(e) => setTopN(e.target.value)} /></label>
          <label>Chart title<input value={title} placeholder={chartTitle} onChange={(e) => setTitle(e.target.value)} /></label>
        </div>
        <button type="submit" disabled={!datasetId || isFetching}>{isFetching ? 'Running…' : 'Run query'}</button>
      </form>
      <ErrorText error={error} />
      {isFetching && <p className="loading" role="status">Running…</p>}
      {result && !isFetching && (
        <>
          <p className="muted">{result.row_count.toLocaleString()} row(s) · {result.elapsed_ms.toFixed(0)} ms{result.cached ? ' · cached' : ''}</p>
          <ChartView result={result} chart={spec} />
          {writer && (
            <div className="row card" aria-label="Save the chart">
              <label>
                Save to
                <select value={target} onChange={(e) => setTarget(e.target.value)}>
                  <option value="new">a new dashboard</option>
                  {dashboards?.items.map((d) => <option key={d.id} value={d.id}>{d.name}</option>)}
                </select>
              </label>
              {target === 'new' && <label>New dashboard name<input value={newName} placeholder={chartTitle} onChange={(e) => setNewName(e.target.value)} /></label>}
              <button onClick={() => void saveChart()} disabled={creating}>Save chart</button>
              {saveNote && (
                <p role={saveNote.error ? 'alert' : 'status'} className={saveNote.error ? 'error' : undefined}>
                  {saveNote.text}{saveNote.link && <> · <Link to={saveNote.link}>Open the dashboard</Link></>}
                </p>
              )}
            </div>
          )}
        </>
      )}
      {!query && <p className="empty">Choose a dataset, a grouping and metrics, then run the query. Saved charts live on <Link to="/dashboards">Dashboards</Link>.</p>}
    </section>
  );
}
