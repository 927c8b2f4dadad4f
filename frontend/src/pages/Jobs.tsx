import { useState } from 'react';
import { api, type JobPublic } from '../api';
import { canWrite } from '../auth/authSlice';
import { ErrorText } from '../components/ErrorText';
import { useAppSelector } from '../hooks';

const STATUSES = ['', 'queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;

function JobDetail({ job, writer }: { job: JobPublic; writer: boolean }) {
  const live = job.status === 'running' || job.status === 'queued';
  const { data: logs } = api.useGetApiV1JobsByJobIdLogsQuery({ jobId: job.id },
    { pollingInterval: live ? 2000 : 0 });
  const [cancel, { error }] = api.usePostApiV1JobsByJobIdCancelMutation();
  return (
    <article className="card" aria-label={`Job ${job.id}`}>
      <h2>{job.kind} <span className="muted">{job.id}</span></h2>
      <p><strong>{job.status}</strong> · {Math.round(job.progress * 100)}%
        {job.error && <span className="error"> · {job.error}</span>}</p>
      {writer && live && <button className="danger" onClick={() => void cancel({ jobId: job.id })}>Cancel</button>}
      <ErrorText error={error} />
      {job.result && <pre className="spec">{JSON.stringify(job.result, null, 2)}</pre>}
      <h3>Logs</h3>
      <pre className="logs" aria-live="polite">{logs?.logs || '(no output yet)'}</pre>
    </article>
  );
}

export default function Jobs() {
  const role = useAppSelector((s) => s.auth.user?.role);
  const [status, setStatus] = useState<(typeof STATUSES)[number]>('');
  const { data, error } = api.useGetApiV1JobsQuery({ limit: 100, status: status || undefined });
  const [selected, setSelected] = useState<string | null>(null);
  const job = data?.items.find((j) => j.id === selected);
  return (
    <section aria-labelledby="jobs-title">
      <h1 id="jobs-title">Jobs</h1>
      <label>
        Status
        <select value={status} onChange={(e) => setStatus(e.target.value as (typeof STATUSES)[number])}>
          {STATUSES.map((s) => <option key={s} value={s}>{s || 'all'}</option>)}
        </select>
      </label>
      <ErrorText error={error} />
      <div className="table-wrap">
        <table>
          <thead><tr><th scope="col">Kind</th><th scope="col">Status</th><th scope="col">Progress</th>
            <th scope="col">Created</th><th scope="col">Details</th></tr></thead>
          <tbody>
            {data?.items.map((j) => (
              <tr key={j.id}>
                <td>{j.kind}</td><td>{j.status}</td>
                <td><progress max={100} value={Math.round(j.progress * 100)} aria-label={`${j.kind} progress`} /></td>
                <td>{new Date(j.created_at).toLocaleString()}</td>
                <td><button onClick={() => setSelected(j.id)} aria-label={`Show job ${j.id}`}>Show</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {job && <JobDetail job={job} writer={canWrite(role)} />}
    </section>
  );
}
