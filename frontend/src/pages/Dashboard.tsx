import { useEffect, useMemo, useState } from 'react';
import ReactGridLayout, { useContainerWidth, type Layout, type LayoutItem } from 'react-grid-layout';
import 'react-grid-layout/css/styles.css';
import 'react-resizable/css/styles.css';
import { Link, useNavigate, useParams } from 'react-router';
import {
  analyticsApi, api, type ChartSpec, type DashboardFilter, type DashboardPublic,
  type DashboardSettings, type DatasetPublic,
} from '../api';
import { canWrite, isAdmin } from '../auth/authSlice';
import { type CrossFilter, filteredQuery, xSource } from '../charts/filters';
import { formatValue } from '../charts/format';
import { nudge } from '../charts/layout';
import { ChartView } from '../components/ChartView';
import { ErrorText } from '../components/ErrorText';
import { usePageTitle } from '../components/usePageTitle';
import { useAppDispatch, useAppSelector } from '../hooks';
import { editDashboard, type DashboardEdit } from '../offline/editDashboard';

const ROW_PX = 40;
const REFRESH = [0, 30, 60, 300, 900, 3600] as const;

export function defaultLayout(i: number): LayoutItem {
  return { i: '', x: (i % 2) * 6, y: Math.floor(i / 2) * 7, w: 6, h: 7 };
}

function layoutOf(charts: ChartSpec[]): LayoutItem[] {
  return charts.map((c, i) => ({ ...defaultLayout(i), ...(c.layout ?? {}), i: c.id, minW: 2, minH: 3 }));
}

/** One chart on the dashboard: its query with the dashboard's filters, re-run when a new
 * version of its dataset lands and on the auto-refresh interval. */
function DashboardChart({ chart, settings, columns, cross, onSelect, refreshS }: {
  chart: ChartSpec; settings?: DashboardSettings; columns: string[]; cross: CrossFilter | null;
  onSelect: (c: CrossFilter) => void; refreshS: number;
}) {
  const version = useAppSelector((s) => s.live.datasetVersions[chart.dataset_id]);
  const query = useMemo(() => filteredQuery(chart, settings, columns, cross), [chart, settings, columns, cross]);
  const { currentData, data, error, isFetching } = analyticsApi.useAnalyticsQuery(
    { datasetId: chart.dataset_id, query, version }, { pollingInterval: refreshS * 1000, skipPollingIfUnfocused: true });
  const shown = currentData ?? (isFetching ? data : undefined);
  const source = xSource(chart);
  if (!shown) {
    return error ? <div className="chart"><strong>{chart.title}</strong><ErrorText error={error} /></div>
      : <p className="loading">Loading {chart.title}…</p>;
  }
  // A failed refresh of the same query (offline, say) keeps the last result on screen.
  return (
    <ChartView result={shown} chart={chart} height={error ? '90%' : '100%'} stale={!!error}
               onSelect={(value) => onSelect({ chartId: chart.id, datasetId: chart.dataset_id, column: source.column, value, bucket: source.bucket })} />
  );
}

function FilterBar({ board, datasets, writer, save }: {
  board: DashboardPublic; datasets: DatasetPublic[]; writer: boolean; save: (e: Partial<DashboardEdit>) => void;
}) {
  const settings = board.settings ?? {};
  const used = datasets.filter((d) => board.charts.some((c) => c.dataset_id === d.id));
  const [datasetId, setDatasetId] = useState(used[0]?.id ?? '');
  const [column, setColumn] = useState('');
  const [values, setValues] = useState('');
  const dataset = used.find((d) => d.id === datasetId) ?? used[0];
  const columns = dataset?.latest?.columns ?? [];
  const timeColumns = columns.filter((c) => c.type === 'timestamp' || c.type === 'date');
  const range = settings.time_range;
  const setSettings = (next: DashboardSettings) => save({ settings: { ...settings, ...next } });
  const addFilter = () => {
    if (!dataset || !column) return;
    const type = columns.find((c) => c.name === column)?.type;
    const parsed = values.split(',').map((v) => v.trim()).filter(Boolean)
      .map((v) => (type === 'int' || type === 'float') && !Number.isNaN(Number(v)) ? Number(v) : v);
    const filter: DashboardFilter = { id: crypto.randomUUID().slice(0, 8), dataset_id: dataset.id, column, values: parsed };
    setSettings({ filters: [...(settings.filters ?? []), filter] });
    setValues('');
  };
  if (!writer && !(settings.filters ?? []).length && !range) return null; // view mode, nothing set
  return (
    <section className="filters card" aria-label="Dashboard filters">
      <div className="chips">
        {(settings.filters ?? []).map((f) => (
          <span key={f.id} className="chip">
            {f.column}: {(f.values ?? []).map(String).join(', ') || 'any'}
            {writer && <button className="icon" aria-label={`Remove filter ${f.column}`}
                               onClick={() => setSettings({ filters: (settings.filters ?? []).filter((x) => x.id !== f.id) })}>×</button>}
          </span>
        ))}
        {range && (
          <span className="chip">{range.column}: {range.start ? formatValue(range.start, { style: 'date' }) : '…'} – {range.end ? formatValue(range.end, { style: 'date' }) : '…'}
            {writer && <button className="icon" aria-label="Remove time range" onClick={() => setSettings({ time_range: null })}>×</button>}</span>
        )}
      </div>
      {writer && used.length > 0 && (
        <div className="row">
          {used.length > 1 && (
            <label>Filter dataset
              <select value={dataset?.id} onChange={(e) => setDatasetId(e.target.value)}>
                {used.map((d) => <option key={d.id} value={d.id}>{d.name}</option>)}
              </select>
            </label>
          )}
          <label>Filter column
            <select value={column} onChange={(e) => setColumn(e.target.value)}>
              <option value="">choose…</option>
              {columns.map((c) => <option key={c.name} value={c.name}>{c.name}</option>)}
            </select>
          </label>
          <label>Values (comma separated)<input value={values} onChange={(e) => setValues(e.target.value)} /></label>
          <button type="button" className="secondary" disabled={!column || !values.trim()} onClick={addFilter}>Add filter</button>
          {timeColumns.length > 0 && dataset && (
            <>
              <label>Time from<input type="date" value={range?.start?.slice(0, 10) ?? ''}
                onChange={(e) => setSettings({ time_range: { dataset_id: dataset.id, column: range?.column ?? timeColumns[0]!.name, start: e.target.value || null, end: range?.end ?? null } })} /></label>
              <label>Time to<input type="date" value={range?.end?.slice(0, 10) ?? ''}
                onChange={(e) => setSettings({ time_range: { dataset_id: dataset.id, column: range?.column ?? timeColumns[0]!.name, start: range?.start ?? null, end: e.target.value || null } })} /></label>
            </>
          )}
          <label>Auto-refresh
            <select value={settings.refresh_s ?? 0} onChange={(e) => setSettings({ refresh_s: Number(e.target.value) || null })}>
              {REFRESH.map((s) => <option key={s} value={s}>{s === 0 ? 'off' : s < 60 ? `${s} s` : `${s / 60} min`}</option>)}
            </select>
          </label>
        </div>
      )}
    </section>
  );
}

export default function DashboardPage() {
  const { dashboardId } = useParams();
  const navigate = useNavigate();
  const dispatch = useAppDispatch();
  const user = useAppSelector((s) => s.auth.user);
  const { data: boards, error, isLoading } = api.useGetApiV1DashboardsQuery({ limit: 100 });
  const { data: datasets } = api.useGetApiV1DatasetsQuery({ limit: 200 });
  const [create] = api.usePostApiV1DashboardsMutation();
  const [remove] = api.useDeleteApiV1DashboardsByDashboardIdMutation();
  const board = boards?.items.find((d) => d.id === dashboardId);
  const mayEdit = canWrite(user?.role) && !!board && (isAdmin(user?.role) || board.owner_id === user?.id);
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(board?.name ?? '');
  const [note, setNote] = useState('');
  const [cross, setCross] = useState<CrossFilter | null>(null);
  const { width, containerRef, mounted } = useContainerWidth();
  usePageTitle(board?.name ?? 'Dashboard');
  useEffect(() => { if (board) setName(board.name); }, [board?.name]); // eslint-disable-line react-hooks/exhaustive-deps

  if (isLoading) return <p className="loading">Loading…</p>;
  if (!board) return (
    <section><h1>Dashboard not found</h1><ErrorText error={error} /><p><Link to="/dashboards">All dashboards</Link></p></section>
  );
  const columnsOf = (id: string) => datasets?.items.find((d) => d.id === id)?.latest?.columns.map((c) => c.name) ?? [];
  const save = async (edit: Partial<DashboardEdit>) => {
    const outcome = await editDashboard(dispatch, board, { name: board.name, charts: board.charts, ...edit });
    setNote(outcome === 'saved' ? 'Saved' : outcome === 'queued'
      ? 'Offline: the edit is queued and will be saved on reconnect' : outcome.error);
  };
  const saveLayout = (layout: Layout) => {
    const at = new Map(layout.map((l) => [l.i, l]));
    const charts = board.charts.map((c) => {
      const l = at.get(c.id);
      return l ? { ...c, layout: { x: l.x, y: l.y, w: l.w, h: l.h } } : c;
    });
    if (JSON.stringify(charts.map((c) => c.layout)) !== JSON.stringify(board.charts.map((c) => c.layout))) void save({ charts });
  };
  const duplicate = async () => {
    const copy = await create({ dashboardCreate: { name: `${board.name} (copy)`, charts: board.charts, settings: board.settings } }).unwrap();
    void navigate(`/dashboards/${copy.id}`);
  };
  const destroy = async () => {
    if (!window.confirm(`Delete the dashboard “${board.name}”? This cannot be undone.`)) return;
    await remove({ dashboardId: board.id }).unwrap();
    void navigate('/dashboards');
  };
  const narrow = mounted && width < 700;
  const refreshS = board.settings?.refresh_s ?? 0;
  const cell = (chart: ChartSpec) => (
    <DashboardChart chart={chart} settings={board.settings} columns={columnsOf(chart.dataset_id)} cross={cross}
                    onSelect={(c) => setCross((old) => old && old.chartId === c.chartId && old.value === c.value ? null : c)} refreshS={refreshS} />
  );
  return (
    <section aria-labelledby="dashboard-title" className="dashboard-page">
      <div className="page-head">
        {editing ? (
          <form className="row" onSubmit={(e) => { e.preventDefault(); void save({ name }); }}>
            <label>Dashboard name<input value={name} onChange={(e) => setName(e.target.value)} /></label>
            <button type="submit" className="secondary">Rename</button>
          </form>
        ) : <h1 id="dashboard-title">{board.name}</h1>}
        <div className="actions">
          {mayEdit && <button aria-pressed={editing} onClick={() => setEditing(!editing)}>{editing ? 'Done' : 'Edit'}</button>}
          {canWrite(user?.role) && <button className="secondary" onClick={() => void duplicate()}>Duplicate</button>}
          {mayEdit && <Link className="button secondary" to={`/analytics?dashboard=${board.id}`}>Add chart</Link>}
          {mayEdit && <button className="danger" onClick={() => void destroy()}>Delete</button>}
        </div>
      </div>
      {note && <p role="status">{note}</p>}
      <FilterBar board={board} datasets={datasets?.items ?? []} writer={mayEdit && editing} save={(e) => void save(e)} />
      {cross && (
        <p className="chip cross" role="status">Filtered by {cross.column} = {formatValue(cross.value, cross.bucket ? { style: cross.bucket === 'month' ? 'month' : 'date' } : { style: 'text' })}
          <button className="icon" aria-label="Clear the cross-filter" onClick={() => setCross(null)}>×</button></p>
      )}
      {board.charts.length === 0 && (
        <p className="empty">This dashboard has no charts yet. {mayEdit && <Link to={`/analytics?dashboard=${board.id}`}>Build one in Analytics</Link>}</p>
      )}
      <div ref={containerRef} className={editing ? 'grid editing' : 'grid'}>
        {narrow ? board.charts.map((c) => <div key={c.id} className="grid-cell stacked">{cell(c)}</div>) : mounted && (
          <ReactGridLayout width={width} layout={layoutOf(board.charts)}
                           gridConfig={{ cols: 12, rowHeight: ROW_PX, margin: [12, 12] }}
                           dragConfig={{ enabled: editing, handle: '.drag-handle' }}
                           resizeConfig={{ enabled: editing, handles: ['se'] }}
                           onDragStop={(layout) => saveLayout(layout)} onResizeStop={(layout) => saveLayout(layout)}>
            {board.charts.map((c) => (
              <div key={c.id} className="grid-cell" data-testid={`chart-${c.id}`}>
                {editing && (
                  <div className="cell-tools">
                    <span className="drag-handle" role="button" tabIndex={0} aria-label={`Move ${c.title}`}
                          title="Drag to move; or arrow keys to move, Shift + arrows to resize"
                          onKeyDown={(e) => {
                            const moved = nudge(layoutOf(board.charts), c.id, e.key, e.shiftKey);
                            if (moved) { e.preventDefault(); saveLayout(moved); }
                          }}>⠿ Move</span>
                    <button className="icon" aria-label={`Remove ${c.title}`}
                            onClick={() => void save({ charts: board.charts.filter((x) => x.id !== c.id) })}>×</button>
                  </div>
                )}
                {cell(c)}
              </div>
            ))}
          </ReactGridLayout>
        )}
      </div>
    </section>
  );
}
