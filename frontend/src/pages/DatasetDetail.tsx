import { useState } from 'react';
import { useNavigate, useParams } from 'react-router';
import { Bar, BarChart, CartesianGrid, Tooltip, XAxis, YAxis } from 'recharts';
import { api } from '../api';
import { canWrite } from '../auth/authSlice';
import { DataTable } from '../components/DataTable';
import { ErrorText } from '../components/ErrorText';
import { JobProgress } from '../components/JobProgress';
import { useAppSelector } from '../hooks';

type ColumnProfile = {
  name: string; type: string; nulls: number; distinct_approx: number;
  min?: unknown; max?: unknown; mean?: number; std?: number;
  histogram?: { lo?: number; hi?: number; start?: number; end?: number; count: number }[];
  top_values?: { value: unknown; count: number }[];
};

function ProfileChart({ column }: { column: ColumnProfile }) {
  const bars = column.histogram?.length
    ? column.histogram.map((b) => ({ label: Number(b.lo ?? b.start ?? 0).toPrecision(3), count: b.count }))
    : (column.top_values ?? []).map((t) => ({ label: String(t.value), count: t.count }));
  if (bars.length === 0) return null;
  return (
    <figure className="chart small">
      <figcaption>{column.name} ({column.type}) · nulls {column.nulls} · ~{column.distinct_approx} distinct</figcaption>
      <BarChart width={320} height={140} data={bars} role="img" aria-label={`Distribution of ${column.name}`}>
        <CartesianGrid strokeDasharray="3 3" />
        <XAxis dataKey="label" hide={bars.length > 12} />
        <YAxis width={40} />
        <Tooltip />
        <Bar dataKey="count" fill="#1d4ed8" isAnimationActive={false} />
      </BarChart>
    </figure>
  );
}

export default function DatasetDetail() {
  const { datasetId = '' } = useParams();
  const navigate = useNavigate();
  const role = useAppSelector((s) => s.auth.user?.role);
  const { data, error } = api.useGetApiV1DatasetsByDatasetIdQuery({ datasetId });
  const { data: preview } = api.useGetApiV1DatasetsByDatasetIdPreviewQuery({ datasetId, limit: 50 });
  const [profile, { data: profileJob, error: profileError }] = api.usePostApiV1DatasetsByDatasetIdProfileMutation();
  const [remove] = api.useDeleteApiV1DatasetsByDatasetIdMutation();
  const [jobId, setJobId] = useState<string | null>(null);

  if (!data) return error ? <ErrorText error={error} /> : <p className="loading">Loading…</p>;
  const columns = (data.profile?.columns ?? []) as ColumnProfile[];

  return (
    <section aria-labelledby="dataset-title">
      <h1 id="dataset-title">{data.name}</h1>
      <p className="muted">
        version {data.latest?.version} · {data.latest?.num_rows.toLocaleString()} rows ·
        {' '}{data.versions.length} version(s)
      </p>
      {canWrite(role) && (
        <div className="actions">
          <button onClick={() => void profile({ datasetId }).unwrap().then((j) => setJobId(j.id))}>
            Profile
          </button>
          <button className="danger" onClick={() => {
            if (window.confirm(`Delete ${data.name} and all its versions?`)) {
              void remove({ datasetId }).unwrap().then(() => navigate('/datasets'));
            }
          }}>Delete</button>
        </div>
      )}
      <ErrorText error={profileError} />
      {(jobId ?? profileJob?.id) && <JobProgress jobId={jobId ?? profileJob?.id ?? ''} />}
      <h2>Preview</h2>
      {preview && (
        <DataTable caption={`First ${preview.rows.length} of ${preview.total_rows} rows`}
                   columns={preview.columns.map((c) => `${c.name} (${c.type})`)} rows={preview.rows} />
      )}
      {columns.length > 0 && (
        <>
          <h2>Profile</h2>
          <div className="charts">{columns.map((c) => <ProfileChart key={c.name} column={c} />)}</div>
        </>
      )}
    </section>
  );
}
