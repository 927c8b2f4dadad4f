import { useState, type FormEvent } from 'react';
import {
  analyticsApi, api, problemMessage, type ChartSpec, type DashboardPublic, type Query,
} from '../api';
import { canWrite } from '../auth/authSlice';
import { ChartView, type ChartKind } from '../components/ChartView';
import { ErrorText } from '../components/ErrorText';
import { useAppDispatch, useAppSelector } from '../hooks';
import { editDashboard } from '../offline/editDashboard';
import { outbox } from '../offline/outbox';

const AGG_OPS = ['count', 'sum', 'mean', 'min', 'max', 'std', 'count_distinct'] as const;
const BUCKETS = ['', 'hour', 'day', 'week', 'month', 'quarter', 'year'] as const;

/** One saved chart; re-queried when a new version of its dataset lands. */
function DashboardChart({ chart }: { chart: ChartSpec }) {
  const version = useAppSelector((s) => s.live.datasetVersions[chart.dataset_id]);
  const { data, error } = analyticsApi.useAnalyticsQuery({
    datasetId: chart.dataset_id, query: chart.query as Query, version,
  });
  if (!data) return error ? <ErrorText error={error} /> : <p className="loading">Loading {chart.title}…</p>;
  return <ChartView result={data} kind={chart.kind ?? 'bar'} x={chart.x} y={chart.y} title={chart.title} />;
}

function Dashboard({ dashboard, writer }: { dashboard: DashboardPublic; writer: boolean }) {
  const dispatch = useAppDispatch();
  const [name, setName] = useState(dashboard.name);
  const [note, setNote] = useState('');
  const save = async (charts: ChartSpec[], newName = name) => {
    const outcome = await editDashboard(dispatch, dashboard, { name: newName, charts });
    setNote(outcome === 'saved' ? 'Saved' : outcome === 'queued'
      ? 'Offline: the edit is queued and will be saved on reconnect' : outcome.error);
  };
  const move = (i: number, by: number) => {
    const charts = [...dashboard.charts];
    const [item] = charts.splice(i, 1);
    if (item) charts.splice(Math.max(0, Math.min(charts.length, i + by)), 0, item);
    void save(charts);
  };
  return (
    <article className="card" aria-label={`Dashboard ${dashboard.name}`}>
      {writer ? (
        <form className="row" onSubmit={(e) => { e.preventDefault(); void save(dashboard.charts); }}>
          <label>Dashboard name<input value={name} onChange={(e) => setName(e.target.value)} /></label>
          <button type="submit">Rename</button>
        </form>
      ) : <h2>{dashboard.name}</h2>}
      {note && <p role="status">{note}</p>}
      <div className="charts">
        {dashboard.charts.map((chart, i) => (
          <div key={chart.id} className="chart-cell">
            <DashboardChart chart={chart} />
            {writer && (
              <div className="actions">
                <button aria-label={`Move ${chart.title} earlier`} onClick={() => move(i, -1)}>↑</button>
                <button aria-label={`Move ${chart.title} later`} onClick={() => move(i, 1)}>↓</button>
                <button onClick={() => void save(dashboard.charts.filter((c) => c.id !== chart.id))}>
                  Remove
                </button>
              </div>
            )}
          </div>
        ))}
      </div>
    </article>
  );
}

export default function Analytics() {
  const dispatch = useAppDispatch();
  const role = useAppSelector((s) => s.auth.user?.role);
  const conflicts = useAppSelector((s) => s.outbox.conflicts);
  const writer = canWrite(role);
  const { data: datasets } = api.useGetApiV1DatasetsQuery({ limit: 200 });
  const { data: dashboards } = api.useGetApiV1DashboardsQuery({ limit: 100 });
  const [createDashboard] = api.usePostApiV1DashboardsMutation();
  const [datasetId, setDatasetId] = useState('');
  const [groupBy, setGroupBy] = useState('');
  const [bucket, setBucket] = useState<(typeof BUCKETS)[number]>('');
  const [aggOp, setAggOp] = useState<(typeof AGG_OPS)[number]>('count');
  const [aggColumn, setAggColumn] = useState('');
  const [filter, setFilter] = useState('');
  const [kind, setKind] = useState<ChartKind>('bar');
  const [title, setTitle] = useState('');
  const [target, setTarget] = useState('new');
  const [saveNote, setSaveNote] = useState('');
  const [query, setQuery] = useState<Query | null>(null);
  const dataset = datasets?.items.find((d) => d.id === datasetId);
  const columns = dataset?.latest?.columns ?? [];
  const { data: result, error, isFetching } = analyticsApi.useAnalyticsQuery(
    query && datasetId ? { datasetId, query } : { datasetId: '', query: {} }, { skip: !query || !datasetId });

  const aggregation = aggOp === 'count' && !aggColumn ? { op: aggOp } : { op: aggOp, column: aggColumn };
  const build = (): Query => ({
    group_by: groupBy ? [bucket ? { column: groupBy, bucket } : groupBy] : [],
    aggregations: [aggregation],
    filter: filter || null,
    order_by: groupBy ? [{ column: groupBy }] : [],
    limit: 1000,
  });
  const yColumn = result?.columns[result.columns.length - 1]?.name ?? '';
  const xColumn = result?.columns[0]?.name ?? '';

  const run = (event: FormEvent) => {
    event.preventDefault();
    setQuery(build());
  };

  const saveChart = async () => {
    if (!query || !result) return;
    const chart: ChartSpec = {
      id: crypto.randomUUID().slice(0, 8), title: title || `${yColumn} by ${xColumn}`,
      dataset_id: datasetId, query, kind, x: xColumn, y: [yColumn],
    };
    try {
      if (target === 'new') {
        await createDashboard({ dashboardCreate: { name: chart.title, charts: [chart] } }).unwrap();
        setSaveNote('Saved to a new dashboard');
      } else {
        const board = dashboards?.items.find((d) => d.id === target);
        if (!board) return;
        const outcome = await editDashboard(dispatch, board, { name: board.name, charts: [...board.charts, chart] });
        setSaveNote(outcome === 'saved' ? `Added to ${board.name}` : outcome === 'queued' ? 'Queued (offline)' : outcome.error);
      }
    } catch (e) {
      setSaveNote(problemMessage(e as Parameters<typeof problemMessage>[0]));
    }
  };

  return (
    <section aria-labelledby="analytics-title">
      <h1 id="analytics-title">Analytics</h1>
      {conflicts.map((c) => (
        <div key={c.id} role="alert" className="banner conflict">
          An offline edit of “{c.name}” was not saved: {c.message}.
          {c.current && ` The dashboard is now “${c.current.name}” (version ${c.current.version}).`}
          {' '}Your edit had {c.charts.length} chart(s).
          <button onClick={() => dispatch(outbox.conflictDismissed(c.id))}>Dismiss</button>
        </div>
      ))}
      <form className="card" onSubmit={run} aria-label="Query builder">
        <div className="row">
          <label>
            Dataset
            <select required value={datasetId} onChange={(e) => { setDatasetId(e.target.value); setQuery(null); }}>
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
            <select value={bucket} onChange={(e) => setBucket(e.target.value as (typeof BUCKETS)[number])}>
              {BUCKETS.map((b) => <option key={b} value={b}>{b || '(none)'}</option>)}
            </select>
          </label>
          <label>
            Aggregation
            <select value={aggOp} onChange={(e) => setAggOp(e.target.value as (typeof AGG_OPS)[number])}>
              {AGG_OPS.map((op) => <option key={op}>{op}</option>)}
            </select>
          </label>
          <label>
            Of column
            <select value={aggColumn} onChange={(e) => setAggColumn(e.target.value)}>
              <option value="">(rows)</option>
              {columns.map((c) => <option key={c.name} value={c.name}>{c.name}</option>)}
            </select>
          </label>
          <label>Filter<input value={filter} placeholder="e.g. amount > 10" onChange={(e) => setFilter(e.target.value)} /></label>
          <label>
            Chart
            <select value={kind} onChange={(e) => setKind(e.target.value as ChartKind)}>
              {(['bar', 'line', 'area', 'table'] as const).map((k) => <option key={k}>{k}</option>)}
            </select>
          </label>
        </div>
        <button type="submit" disabled={!datasetId}>Run query</button>
      </form>
      <ErrorText error={error} />
      {isFetching && <p className="loading">Running…</p>}
      {result && (
        <>
          <p className="muted">{result.row_count} row(s) · {result.elapsed_ms.toFixed(0)} ms{result.cached ? ' · cached' : ''}</p>
          <ChartView result={result} kind={kind} x={xColumn} y={[yColumn]} title={title || `${yColumn} by ${xColumn}`} />
          {writer && (
            <div className="row card">
              <label>Chart title<input value={title} onChange={(e) => setTitle(e.target.value)} /></label>
              <label>
                Save to
                <select value={target} onChange={(e) => setTarget(e.target.value)}>
                  <option value="new">a new dashboard</option>
                  {dashboards?.items.map((d) => <option key={d.id} value={d.id}>{d.name}</option>)}
                </select>
              </label>
              <button onClick={() => void saveChart()}>Save chart</button>
              {saveNote && <p role="status">{saveNote}</p>}
            </div>
          )}
        </>
      )}
      <h2>Dashboards</h2>
      {dashboards?.items.length === 0 && <p className="muted">No dashboards yet.</p>}
      {dashboards?.items.map((d) => <Dashboard key={`${d.id}:${d.version}`} dashboard={d} writer={writer} />)}
    </section>
  );
}
