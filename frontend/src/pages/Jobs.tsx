import { useSearchParams, Link } from 'react-router';
import type { ReactNode } from 'react';
import { api, type JobPublic } from '../api';
import { canWrite, isAdmin } from '../auth/authSlice';
import { formatValue, humanLabel } from '../charts/format';
import { ErrorText } from '../components/ErrorText';
import { statusBadge } from '../components/JobProgress';
import { usePageTitle } from '../components/usePageTitle';
import { useAppSelector } from '../hooks';

const STATUSES = ['', 'queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;

/** Terminal colour and cursor codes (ESC [ ... letter) out of a job's logs. */
// eslint-disable-next-line no-control-regex
export const stripAnsi = (text: string): string => text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\x1b\][^\x07]*\x07/g, '');

export function duration(job: Pick<JobPublic, 'started_at' | 'finished_at' | 'status'>, now = Date.now()): string {
  if (!job.started_at) return '–';
  const end = job.finished_at ? Date.parse(job.finished_at) : now;
  const s = Math.max(0, (end - Date.parse(job.started_at)) / 1000);
  return s < 60 ? `${s.toFixed(1)} s` : s < 3600 ? `${Math.floor(s / 60)} min ${Math.round(s % 60)} s` : `${(s / 3600).toFixed(1)} h`;
}

type Names = { dataset: (id: unknown) => string | undefined };

/** What a job worked on and what it made, as links. */
function subject(job: JobPublic, names: Names): { what: ReactNode; output: ReactNode } {
  const spec = job.spec as Record<string, unknown>;
  const result = (job.result ?? {}) as Record<string, unknown>;
  const dataset = (id: unknown, label?: string) => id ? <Link to={`/datasets/${String(id)}`}>{label ?? names.dataset(id) ?? 'dataset'}</Link> : null;
  switch (job.kind) {
    case 'pipeline':
      return { what: <>pipeline <Link to="/pipelines">{String(spec.pipeline_name ?? '')}</Link></>,
        output: result.dataset_id ? <>{dataset(result.dataset_id, String(result.dataset ?? ''))} v{String(result.version)}</> : null };
    case 'train':
      return { what: <>train <Link to={`/models?model=${encodeURIComponent(String(spec.model))}`}>{String(spec.model)}</Link> on {String(spec.dataset)}</>,
        output: result.version ? <Link to={`/models?model=${encodeURIComponent(String(spec.model))}`}>{String(spec.model)} v{String(result.version)}</Link> : null };
    case 'profile':
      return { what: <>profile of {dataset(spec.dataset_id)}</>, output: result.profile ? dataset(spec.dataset_id, 'the profile') : null };
    case 'query':
      return { what: <>query on {dataset(spec.dataset_id)}</>, output: result.row_count !== undefined ? `${formatValue(result.row_count)} row(s)` : null };
    case 'ingest_sql':
      return { what: <>SQL import into {String(spec.dataset)}</>, output: result.dataset_id ? <>{dataset(result.dataset_id, String(spec.dataset))} v{String(result.version)}</> : null };
    case 'text_index':
      return { what: <>text index on {dataset(spec.dataset_id)}</>, output: result.index_id ? <Link to="/nlp">index of {formatValue(result.rows)} rows</Link> : null };
    case 'script':
      return { what: <>script{Array.isArray(spec.args) && spec.args.length ? ` (${(spec.args as unknown[]).length} args)` : ''}</>, output: result.exit_code !== undefined ? `exit ${String(result.exit_code)}` : null };
    default:
      return { what: job.kind, output: null };
  }
}


/** A job's result as a readable list; a pipeline's per-step counts as a table. */
function Result({ result }: { result: Record<string, unknown> }) {
  const steps = result.steps as { index: number; op: string; rows_out?: number; kernel_seconds?: number }[] | undefined;
  const flat = Object.entries(result).filter(([k, v]) => k !== 'steps' && k !== 'profile' && (typeof v !== 'object' || v === null));
  const nested = Object.entries(result).filter(([k, v]) => k !== 'steps' && k !== 'profile' && typeof v === 'object' && v !== null);
  return (
    <>
      <dl className="stats-text result">
        {flat.map(([k, v]) => <div key={k}><dt>{humanLabel(k)}</dt><dd>{typeof v === 'number' ? formatValue(v, k.endsWith('_bytes') ? { style: 'compact', unit: 'B' } : undefined) : String(v)}</dd></div>)}
      </dl>
      {steps && (
        <div className="table-wrap">
          <table>
            <caption>Rows after each step</caption>
            <thead><tr><th scope="col" className="num">Step</th><th scope="col">Operation</th><th scope="col" className="num">Rows out</th><th scope="col" className="num">Seconds</th></tr></thead>
            <tbody>{steps.map((s) => <tr key={s.index}><td className="num">{s.index + 1}</td><td>{s.op}</td><td className="num">{formatValue(s.rows_out)}</td><td className="num">{formatValue(s.kernel_seconds, { decimals: 3 })}</td></tr>)}</tbody>
          </table>
        </div>
      )}
      {nested.map(([k, v]) => (
        <details key={k}><summary>{humanLabel(k)}</summary><pre className="spec">{JSON.stringify(v, null, 2)}</pre></details>
      ))}
    </>
  );
}

/** Where a job stands: its place in the queue, a retry's wait, or its attempt. */
export function standing(job: Pick<JobPublic, 'status' | 'position' | 'attempt' | 'max_attempts' | 'not_before'>, now = Date.now()): string {
  const attempt = (job.attempt ?? 0) > 0 ? `attempt ${job.attempt} of ${job.max_attempts ?? 1}` : '';
  if (job.status === 'queued') {
    const wait = job.not_before && Date.parse(job.not_before) > now
      ? `retry in ${Math.ceil((Date.parse(job.not_before) - now) / 1000)} s` : '';
    const place = job.position ? `#${job.position} in queue` : 'queued';
    return [place, wait, attempt && `after ${attempt}`].filter(Boolean).join(' · ');
  }
  return (job.max_attempts ?? 1) > 1 || (job.attempt ?? 0) > 1 ? attempt : '';
}

type Attempt = { attempt?: number; runner?: string; node_id?: string; pid?: number; started_at?: string; finished_at?: string; outcome?: string; error?: string };

function Attempts({ attempts }: { attempts: Attempt[] }) {
  if (!attempts.length) return null;
  return (
    <div className="table-wrap">
      <table>
        <caption>Attempts</caption>
        <thead><tr><th scope="col" className="num">#</th><th scope="col">Runner</th><th scope="col">Node</th><th scope="col">Started</th>
          <th scope="col">Took</th><th scope="col">Outcome</th><th scope="col">Error</th></tr></thead>
        <tbody>{attempts.map((a, i) => (
          <tr key={i}>
            <td className="num">{a.attempt ?? i + 1}</td>
            <td>{a.runner ?? '–'}</td>
            <td title={a.node_id}>{a.node_id ? a.node_id.slice(0, 8) : '–'}</td>
            <td>{a.started_at ? new Date(a.started_at).toLocaleTimeString() : '–'}</td>
            <td>{a.started_at ? duration({ started_at: a.started_at, finished_at: a.finished_at ?? null, status: 'running' }) : '–'}</td>
            <td>{a.outcome ?? 'running'}</td>
            <td>{a.error ? stripAnsi(a.error) : ''}</td>
          </tr>
        ))}</tbody>
      </table>
    </div>
  );
}

function JobDetail({ job, writer, names, owner }: { job: JobPublic; writer: boolean; names: Names; owner: string }) {
  const live = job.status === 'running' || job.status === 'queued';
  const connected = useAppSelector((s) => s.live.connected);
  // Output streams over the WebSocket (appended to this cache entry); poll only without it.
  const { data: logs } = api.useGetApiV1JobsByJobIdLogsQuery({ jobId: job.id },
    { pollingInterval: live && !connected ? 3000 : 0 });
  const [cancel, { error, isLoading }] = api.usePostApiV1JobsByJobIdCancelMutation();
  const { what, output } = subject(job, names);
  const where = standing(job);
  return (
    <article className="card" aria-label={`Job ${job.id}`}>
      <h2>{what}</h2>
      <p><span className={statusBadge(job.status)}>{job.status}</span>{where && <> · {where}</>} · {Math.round(job.progress * 100)}% · {duration(job)} · by {owner}
        {output && <> · made {output}</>} <span className="muted">· {job.id}</span></p>
      {job.schedule_id && <p>Started by <Link to={`/schedules?schedule=${job.schedule_id}`}>a schedule</Link>{job.scheduled_for && <> for {new Date(job.scheduled_for).toLocaleString()}</>}</p>}
      {job.error && <p role="alert" className="error">{stripAnsi(job.error)}</p>}
      {writer && live && <button className="danger" disabled={isLoading} onClick={() => void cancel({ jobId: job.id })}>{isLoading ? 'Cancelling…' : 'Cancel'}</button>}
      <ErrorText error={error} />
      {job.result && <Result result={job.result} />}
      <Attempts attempts={(job.attempts ?? []) as Attempt[]} />
      <h3>Logs</h3>
      <pre className="logs" aria-live="polite" aria-label="Logs">{logs?.logs ? stripAnsi(logs.logs) : '(no output yet)'}</pre>
    </article>
  );
}

export default function Jobs() {
  usePageTitle('Jobs');
  const user = useAppSelector((s) => s.auth.user);
  const [params, setParams] = useSearchParams();
  const status = (params.get('status') ?? '') as (typeof STATUSES)[number];
  const selected = params.get('job');
  const schedule = params.get('schedule');
  const { data, error, isFetching } = api.useGetApiV1JobsQuery({ limit: 100, status: status || undefined, scheduleId: schedule ?? undefined });
  const { data: datasets } = api.useGetApiV1DatasetsQuery({ limit: 200 });
  const { data: users } = api.useGetApiV1UsersQuery({ limit: 200 }, { skip: !isAdmin(user?.role) });
  const { data: one } = api.useGetApiV1JobsByJobIdQuery({ jobId: selected ?? '' }, { skip: !selected });
  const job = data?.items.find((j) => j.id === selected) ?? one;
  const names: Names = { dataset: (id) => datasets?.items.find((d) => d.id === id)?.name };
  const ownerOf = (id: string | null) => id === user?.id ? 'you' : users?.items.find((u) => u.id === id)?.email ?? (id ? `user ${id.slice(0, 8)}` : 'the platform');
  const set = (key: string, value: string | null) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value); else next.delete(key);
    setParams(next);
  };
  return (
    <section aria-labelledby="jobs-title">
      <h1 id="jobs-title">Jobs</h1>
      <label className="search">
        Status
        <select value={status} onChange={(e) => set('status', e.target.value)}>
          {STATUSES.map((s) => <option key={s} value={s}>{s || 'all'}</option>)}
        </select>
      </label>
      {schedule && <p>Runs of <Link to={`/schedules?schedule=${schedule}`}>one schedule</Link> · <button className="link" onClick={() => set('schedule', null)}>show all jobs</button></p>}
      <ErrorText error={error} />
      {data?.items.length === 0 && <p className="empty">No {status || ''} jobs. Pipelines, profiles, training and text indexes run as jobs: start one from their pages.</p>}
      {!!data?.items.length && (
        <div className="table-wrap">
          <table aria-busy={isFetching}>
            <thead><tr><th scope="col">Job</th><th scope="col">Status</th><th scope="col">Queue / attempt</th><th scope="col">Progress</th><th scope="col">Duration</th>
              <th scope="col">Owner</th><th scope="col">Output</th><th scope="col">Created</th></tr></thead>
            <tbody>
              {data.items.map((j) => {
                const { what, output } = subject(j, names);
                return (
                  <tr key={j.id} aria-selected={j.id === selected}>
                    <td>{what} <button className="link" onClick={() => set('job', j.id)} aria-label={`Show job ${j.id}`}>details</button></td>
                    <td><span className={statusBadge(j.status)}>{j.status}</span></td>
                    <td>{standing(j) || '–'}</td>
                    <td><progress max={100} value={Math.round(j.progress * 100)} aria-label={`${j.kind} progress`} /></td>
                    <td>{duration(j)}</td>
                    <td>{ownerOf(j.owner_id)}</td>
                    <td>{output ?? '–'}</td>
                    <td>{new Date(j.created_at).toLocaleString()}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {job && <JobDetail job={job} writer={canWrite(user?.role)} names={names} owner={ownerOf(job.owner_id)} />}
    </section>
  );
}
