import { useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { api, type ScheduleCreate, type SchedulePublic } from '../api';
import { canWrite } from '../auth/authSlice';
import { ErrorText } from '../components/ErrorText';
import { usePageTitle } from '../components/usePageTitle';
import { useAppSelector } from '../hooks';

type Kind = ScheduleCreate['kind'];
const KINDS: { kind: Kind; label: string }[] = [
  { kind: 'pipeline', label: 'Pipeline run' },
  { kind: 'profile', label: 'Dataset profile' },
  { kind: 'train', label: 'Model training' },
  { kind: 'query', label: 'Query' },
  { kind: 'text_index', label: 'Text index rebuild' },
];
const PRESETS = [
  { label: 'every hour', cron: '0 * * * *' },
  { label: 'every night at 02:00', cron: '0 2 * * *' },
  { label: 'every Monday at 06:00', cron: '0 6 * * 1' },
  { label: 'every 15 minutes', cron: '*/15 * * * *' },
];

/** How a schedule's timing reads to a person. */
export function timing(s: Pick<SchedulePublic, 'cron' | 'interval_s' | 'timezone'>): string {
  if (s.interval_s) {
    const v = s.interval_s;
    const every = v % 86400 === 0 ? `${v / 86400} d` : v % 3600 === 0 ? `${v / 3600} h` : v % 60 === 0 ? `${v / 60} min` : `${v} s`;
    return `every ${every}`;
  }
  const preset = PRESETS.find((p) => p.cron === s.cron);
  return `${preset ? preset.label : `cron ${s.cron ?? ''}`} (${s.timezone})`;
}

/** The target object for a kind, from the form's fields; throws a message on bad JSON. */
export function targetFor(kind: Kind, fields: { pipelineId: string; dataset: string; json: string }): Record<string, unknown> {
  if (kind === 'pipeline') return { pipeline_id: fields.pipelineId };
  if (kind === 'profile') return { dataset: fields.dataset };
  try {
    const parsed: unknown = JSON.parse(fields.json || '{}');
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as Record<string, unknown>;
  } catch {
    throw new Error('Target: write a JSON object (for training, the body of POST /models/train)');
  }
}

function NewSchedule({ pipelineId: initialPipeline, kind: initialKind, target: initialTarget }: { pipelineId: string; kind: Kind; target: string }) {
  const { data: pipelines } = api.useGetApiV1PipelinesQuery({ limit: 200 });
  const { data: datasets } = api.useGetApiV1DatasetsQuery({ limit: 200 });
  const [create, { error, isLoading }] = api.usePostApiV1SchedulesMutation();
  const [kind, setKind] = useState<Kind>(initialKind);
  const [name, setName] = useState('');
  const [mode, setMode] = useState<'cron' | 'interval'>('cron');
  const [cron, setCron] = useState('0 2 * * *');
  const [interval, setInterval] = useState('3600');
  const [timezone, setTimezone] = useState(() => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC');
  const [pipelineId, setPipelineId] = useState(initialPipeline);
  const [dataset, setDataset] = useState('');
  const [json, setJson] = useState(initialTarget);
  const [concurrency, setConcurrency] = useState<'forbid' | 'allow' | 'replace'>('forbid');
  const [missed, setMissed] = useState<'skip' | 'run_once'>('skip');
  const [local, setLocal] = useState('');
  const [created, setCreated] = useState<SchedulePublic | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setLocal('');
    setCreated(null);
    let target: Record<string, unknown>;
    try {
      target = targetFor(kind, { pipelineId, dataset, json });
    } catch (err) {
      setLocal((err as Error).message);
      return;
    }
    const body: ScheduleCreate = {
      name, kind, target, timezone, concurrency_policy: concurrency, missed_policy: missed,
      ...(mode === 'cron' ? { cron } : { interval_s: Number(interval) }),
    };
    const result = await create({ scheduleCreate: body });
    if ('data' in result && result.data) setCreated(result.data);
  };

  return (
    <form className="card" onSubmit={(e) => void submit(e)} aria-label="New schedule">
      <h2>New schedule</h2>
      <label>Name <input required value={name} onChange={(e) => setName(e.target.value)} placeholder="nightly refresh" /></label>
      <label>What
        <select aria-label="What" value={kind} onChange={(e) => setKind(e.target.value as Kind)}>
          {KINDS.map((k) => <option key={k.kind} value={k.kind}>{k.label}</option>)}
        </select>
      </label>
      {kind === 'pipeline' && (
        <label>Pipeline
          <select aria-label="Pipeline" required value={pipelineId} onChange={(e) => setPipelineId(e.target.value)}>
            <option value="">choose…</option>
            {pipelines?.items.map((p) => <option key={p.id} value={p.id}>{p.name}</option>)}
          </select>
        </label>
      )}
      {kind === 'profile' && (
        <label>Dataset
          <select aria-label="Dataset" required value={dataset} onChange={(e) => setDataset(e.target.value)}>
            <option value="">choose…</option>
            {datasets?.items.map((d) => <option key={d.id} value={d.name}>{d.name}</option>)}
          </select>
        </label>
      )}
      {kind !== 'pipeline' && kind !== 'profile' && (
        <label>Target (JSON)
          <textarea rows={4} value={json} onChange={(e) => setJson(e.target.value)}
                    placeholder={kind === 'train' ? '{"name": "churn", "dataset": "customers", "target": "churned"}' : kind === 'query' ? '{"dataset": "flights", "query": {"aggregations": [{"op": "count"}]}}' : '{"index_id": "…"}'} />
        </label>
      )}
      <fieldset>
        <legend>When</legend>
        <label><input type="radio" checked={mode === 'cron'} onChange={() => setMode('cron')} /> on a calendar (cron)</label>
        <label><input type="radio" checked={mode === 'interval'} onChange={() => setMode('interval')} /> every N seconds</label>
        {mode === 'cron' ? (
          <>
            <label>Cron <input value={cron} onChange={(e) => setCron(e.target.value)} aria-describedby="cron-help" /></label>
            <span id="cron-help" className="muted">minute hour day-of-month month day-of-week ·{' '}
              {PRESETS.map((p) => <button type="button" key={p.cron} className="link" onClick={() => setCron(p.cron)}>{p.label}</button>)}
            </span>
            <label>Time zone <input value={timezone} onChange={(e) => setTimezone(e.target.value)} /></label>
          </>
        ) : (
          <label>Seconds <input type="number" min={1} value={interval} onChange={(e) => setInterval(e.target.value)} /></label>
        )}
      </fieldset>
      <label>If the last run is still going
        <select value={concurrency} onChange={(e) => setConcurrency(e.target.value as typeof concurrency)}>
          <option value="forbid">skip this run</option>
          <option value="allow">run both</option>
          <option value="replace">cancel the old run</option>
        </select>
      </label>
      <label>Runs missed while Helio was down
        <select value={missed} onChange={(e) => setMissed(e.target.value as typeof missed)}>
          <option value="skip">skip them</option>
          <option value="run_once">run once</option>
        </select>
      </label>
      <button type="submit" disabled={isLoading}>{isLoading ? 'Saving…' : 'Create schedule'}</button>
      {local && <p role="alert" className="error">{local}</p>}
      <ErrorText error={error} />
      {created && <p role="status">Scheduled “{created.name}”: next run {created.next_run_at ? new Date(created.next_run_at).toLocaleString() : '–'}.</p>}
    </form>
  );
}

function Row({ s, writer, selected }: { s: SchedulePublic; writer: boolean; selected: boolean }) {
  const [patch, { error: patchError, isLoading: patching }] = api.usePatchApiV1SchedulesByScheduleIdMutation();
  const [remove, { error: removeError, isLoading: removing }] = api.useDeleteApiV1SchedulesByScheduleIdMutation();
  const what = s.kind === 'pipeline' ? 'pipeline run' : s.kind.replace('_', ' ');
  return (
    <tr aria-selected={selected}>
      <td>{s.name}</td>
      <td>{what}</td>
      <td>{timing(s)}</td>
      <td>{s.paused ? <span className="badge">paused</span> : (s.upcoming ?? []).slice(0, 3).map((t) => new Date(t).toLocaleString()).join(', ') || '–'}</td>
      <td>{s.last_job_id ? <Link to={`/jobs?job=${s.last_job_id}`}>{s.last_run_at ? new Date(s.last_run_at).toLocaleString() : 'last run'}</Link> : '–'}
        {' · '}<Link to={`/jobs?schedule=${s.id}`}>all runs</Link></td>
      <td>
        {writer && <>
          <button disabled={patching} onClick={() => void patch({ scheduleId: s.id, scheduleUpdate: { paused: !s.paused } })}>{s.paused ? 'Resume' : 'Pause'}</button>{' '}
          <button className="danger" disabled={removing} onClick={() => { if (confirm(`Delete the schedule “${s.name}”? Its past runs stay.`)) void remove({ scheduleId: s.id }); }}>Delete</button>
        </>}
        <ErrorText error={patchError ?? removeError} />
      </td>
    </tr>
  );
}

export default function Schedules() {
  usePageTitle('Schedules');
  const role = useAppSelector((s) => s.auth.user?.role);
  const writer = canWrite(role);
  const [params] = useSearchParams();
  const { data, error, isFetching } = api.useGetApiV1SchedulesQuery({ limit: 200 }, { pollingInterval: 30000 });
  return (
    <section aria-labelledby="schedules-title">
      <h1 id="schedules-title">Schedules</h1>
      <p className="muted">Pipelines, profiles, training and index rebuilds that run by themselves. Each due time starts one job (once, even across restarts); runs queue like any other job.</p>
      <ErrorText error={error} />
      {data?.items.length === 0 && <p className="empty">No schedules yet.{writer ? ' Create one below, or from a pipeline.' : ''}</p>}
      {!!data?.items.length && (
        <div className="table-wrap">
          <table aria-busy={isFetching}>
            <thead><tr><th scope="col">Name</th><th scope="col">What</th><th scope="col">When</th><th scope="col">Next runs</th><th scope="col">Last run</th><th scope="col">Actions</th></tr></thead>
            <tbody>{data.items.map((s) => <Row key={s.id} s={s} writer={writer} selected={s.id === params.get('schedule')} />)}</tbody>
          </table>
        </div>
      )}
      {writer && <NewSchedule pipelineId={params.get('pipeline') ?? ''} target={params.get('target') ?? ''}
                              kind={KINDS.some((k) => k.kind === params.get('kind')) ? params.get('kind') as Kind : 'pipeline'} />}
    </section>
  );
}
