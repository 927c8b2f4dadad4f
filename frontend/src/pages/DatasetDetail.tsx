import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { api } from '../api';
import { downloadFile } from '../api/download';
import { canWrite } from '../auth/authSlice';
import { formatValue } from '../charts/format';
import { DataTable } from '../components/DataTable';
import { ErrorText } from '../components/ErrorText';
import { JobProgress } from '../components/JobProgress';
import { TOOLTIP_STYLE } from '../components/ChartView';
import { color } from '../components/LiveChart';
import { usePageTitle } from '../components/usePageTitle';
import { useAppSelector } from '../hooks';
import { size } from './Datasets';

type ColumnProfile = {
  name: string; type: string; nulls: number; distinct_approx: number;
  min?: unknown; max?: unknown; mean?: number; std?: number;
  histogram?: { lo?: number; hi?: number; start?: unknown; end?: unknown; count: number }[];
  top_values?: { value: unknown; count: number }[];
};

const isYear = (c: ColumnProfile) => /(^|_)year$/.test(c.name);
/** Numbers as people write them: years without separators or exponents, 2 decimals at most. */
const num = (v: unknown, c: ColumnProfile) =>
  typeof v === 'number' && isYear(c) ? String(Math.round(v)) : formatValue(v, c.type === 'timestamp' || c.type === 'date' ? { style: 'date' } : { style: 'number' });

function ProfileCard({ column }: { column: ColumnProfile }) {
  const bars = column.histogram?.length
    ? column.histogram.map((b) => ({ label: `${num(b.lo ?? b.start, column)}–${num(b.hi ?? b.end, column)}`, count: b.count }))
    : (column.top_values ?? []).map((t) => ({ label: String(t.value ?? '(null)'), count: t.count }));
  return (
    <figure className="chart small profile">
      <figcaption>{column.name} <span className="muted">({column.type})</span></figcaption>
      <dl className="stats-text">
        <div><dt>Nulls</dt><dd>{column.nulls.toLocaleString()}</dd></div>
        <div><dt>Distinct ≈</dt><dd>{column.distinct_approx.toLocaleString()}</dd></div>
        {column.min !== undefined && <div><dt>Min</dt><dd>{num(column.min, column)}</dd></div>}
        {column.max !== undefined && <div><dt>Max</dt><dd>{num(column.max, column)}</dd></div>}
        {column.mean !== undefined && column.mean !== null && <div><dt>Mean</dt><dd>{num(column.mean, column)}</dd></div>}
        {column.std !== undefined && column.std !== null && <div><dt>Std. dev.</dt><dd>{num(column.std, column)}</dd></div>}
      </dl>
      {bars.length > 0 && (
        <ResponsiveContainer width="100%" height={150}>
          <BarChart data={bars} role="img" aria-label={`Distribution of ${column.name}`} margin={{ left: 4, right: 8, bottom: 4 }}
                    barCategoryGap={column.histogram?.length ? 0 : '10%'}>
            <CartesianGrid strokeDasharray="3 3" stroke="var(--line)" />
            <XAxis dataKey="label" tick={{ fontSize: 10 }} interval="preserveStartEnd" stroke="var(--muted)" />
            <YAxis width={48} allowDecimals={false} tickFormatter={(v) => formatValue(v, { style: 'compact' })} stroke="var(--muted)" />
            <Tooltip formatter={(v) => [formatValue(v), 'rows']}
                     contentStyle={TOOLTIP_STYLE} />
            <Bar dataKey="count" fill={color(0)} isAnimationActive={false} />
          </BarChart>
        </ResponsiveContainer>
      )}
    </figure>
  );
}

function Lineage({ lineage, names }: { lineage: Record<string, unknown>; names: Map<string, string> }) {
  const inputs = (lineage.inputs ?? []) as { dataset_id?: string; name?: string; version?: number }[];
  const upload = lineage.upload as { filename?: string; format?: string } | undefined;
  const job = lineage.job_id as string | undefined;
  return (
    <span>
      {upload && <>upload of {upload.filename ?? 'a file'} ({upload.format})</>}
      {inputs.map((i, k) => (
        <span key={k}>{k > 0 && ', '}from {i.dataset_id ? <Link to={`/datasets/${i.dataset_id}`}>{names.get(i.dataset_id) ?? i.name ?? 'a dataset'}</Link> : i.name} v{i.version}</span>
      ))}
      {job && <> · <Link to={`/jobs?job=${job}`}>the job that wrote it</Link></>}
      {!upload && inputs.length === 0 && !job && '–'}
    </span>
  );
}

export default function DatasetDetail() {
  const { datasetId = '' } = useParams();
  const navigate = useNavigate();
  const role = useAppSelector((s) => s.auth.user?.role);
  const token = useAppSelector((s) => s.auth.accessToken);
  const { data, error } = api.useGetApiV1DatasetsByDatasetIdQuery({ datasetId });
  const { data: preview } = api.useGetApiV1DatasetsByDatasetIdPreviewQuery({ datasetId, limit: 50 });
  const [profile, { data: profileJob, error: profileError, isLoading: starting }] = api.usePostApiV1DatasetsByDatasetIdProfileMutation();
  const [remove, { error: removeError }] = api.useDeleteApiV1DatasetsByDatasetIdMutation();
  const [downloadError, setDownloadError] = useState('');
  const { data: all } = api.useGetApiV1DatasetsQuery({ limit: 200 });
  const names = new Map((all?.items ?? []).map((d) => [d.id, d.name]));
  usePageTitle(data?.name ?? 'Dataset');

  if (!data) return error ? <ErrorText error={error} /> : <p className="loading">Loading…</p>;
  const columns = (data.profile?.columns ?? []) as ColumnProfile[];
  const download = (version: number, format: 'csv' | 'parquet') => {
    setDownloadError('');
    downloadFile(`/api/v1/datasets/${datasetId}/download?version=${version}&format=${format}`, token,
      `${data.name}-v${version}.${format}`).catch((e: Error) => setDownloadError(e.message));
  };

  return (
    <section aria-labelledby="dataset-title">
      <div className="page-head">
        <h1 id="dataset-title">{data.name}</h1>
        <div className="actions">
          {data.latest && <button className="secondary" onClick={() => download(data.latest!.version, 'csv')}>Download CSV</button>}
          {data.latest && <button className="secondary" onClick={() => download(data.latest!.version, 'parquet')}>Download Parquet</button>}
          {canWrite(role) && (
            <button disabled={starting} onClick={() => void profile({ datasetId })}>{starting ? 'Starting…' : 'Profile'}</button>
          )}
          {canWrite(role) && (
            <button className="danger" onClick={() => {
              if (window.confirm(`Delete ${data.name} and all its versions?`)) {
                void remove({ datasetId }).unwrap().then(() => navigate('/datasets'));
              }
            }}>Delete</button>
          )}
        </div>
      </div>
      <p className="muted">
        version {data.latest?.version} · {data.latest?.num_rows.toLocaleString()} rows · {data.latest ? size(data.latest.num_bytes) : ''} ·
        {' '}{data.versions.length} version(s){data.description ? ` · ${data.description}` : ''}
      </p>
      <ErrorText error={profileError ?? removeError} />
      {downloadError && <p role="alert" className="error">{downloadError}</p>}
      {profileJob && <JobProgress jobId={profileJob.id} />}
      <h2>Preview</h2>
      {preview && (
        <DataTable caption={`First ${preview.rows.length} of ${preview.total_rows.toLocaleString()} rows`}
                   columns={preview.columns.map((c) => `${c.name} (${c.type})`)} rows={preview.rows} />
      )}
      <h2>Versions and lineage</h2>
      <div className="table-wrap">
        <table>
          <thead><tr><th scope="col" className="num">Version</th><th scope="col" className="num">Rows</th><th scope="col" className="num">Size</th>
            <th scope="col">Created</th><th scope="col">Lineage</th><th scope="col">Download</th></tr></thead>
          <tbody>
            {data.versions.map((v) => (
              <tr key={v.version}>
                <td className="num">{v.version}</td><td className="num">{v.num_rows.toLocaleString()}</td>
                <td className="num">{size(v.num_bytes)}</td><td>{new Date(v.created_at).toLocaleString()}</td>
                <td><Lineage lineage={v.lineage} names={names} /></td>
                <td><button className="link" onClick={() => download(v.version, 'csv')} aria-label={`Download version ${v.version} as CSV`}>CSV</button>{' · '}
                  <button className="link" onClick={() => download(v.version, 'parquet')} aria-label={`Download version ${v.version} as Parquet`}>Parquet</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {columns.length > 0 ? (
        <section aria-label={`Profile of ${data.name}`}>
          <h2>Profile</h2>
          <div className="charts">{columns.map((c) => <ProfileCard key={c.name} column={c} />)}</div>
        </section>
      ) : <p className="empty">No profile yet.{canWrite(role) ? ' Press Profile to compute nulls, distinct values, ranges and distributions.' : ''}</p>}
    </section>
  );
}
