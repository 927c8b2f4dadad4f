import { useMemo, useState, type FormEvent } from 'react';
import { stringify } from 'yaml';
import { api, problemMessage } from '../api';
import { canWrite } from '../auth/authSlice';
import { JobProgress } from '../components/JobProgress';
import { useAppSelector } from '../hooks';
import { specFrom, STEP_OPS, type StepRow } from './pipelineForm';

export default function Pipelines() {
  const role = useAppSelector((s) => s.auth.user?.role);
  const { data: pipelines } = api.useGetApiV1PipelinesQuery({ limit: 100 });
  const { data: datasets } = api.useGetApiV1DatasetsQuery({ limit: 200 });
  const [create] = api.usePostApiV1PipelinesMutation();
  const [run] = api.usePostApiV1PipelinesByPipelineIdRunsMutation();
  const [name, setName] = useState('');
  const [source, setSource] = useState('');
  const [sink, setSink] = useState('');
  const [rows, setRows] = useState<StepRow[]>([{ op: 'filter', a: '', b: '' }]);
  const [view, setView] = useState<'json' | 'yaml'>('json');
  const [error, setError] = useState('');
  const [jobId, setJobId] = useState<string | null>(null);
  const spec = useMemo(() => specFrom(source, sink, rows), [source, sink, rows]);
  const writer = canWrite(role);

  const update = (i: number, patch: Partial<StepRow>) =>
    setRows(rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));

  const save = async (event: FormEvent, andRun: boolean) => {
    event.preventDefault();
    setError('');
    try {
      const pipeline = await create({ pipelineCreate: { name, spec } }).unwrap();
      if (andRun) setJobId((await run({ pipelineId: pipeline.id }).unwrap()).id);
    } catch (e) {
      setError(problemMessage(e as Parameters<typeof problemMessage>[0]));
    }
  };

  const runExisting = async (pipelineId: string) => {
    setError('');
    try {
      setJobId((await run({ pipelineId }).unwrap()).id);
    } catch (e) {
      setError(problemMessage(e as Parameters<typeof problemMessage>[0]));
    }
  };

  return (
    <section aria-labelledby="pipelines-title">
      <h1 id="pipelines-title">Pipelines</h1>
      {writer && (
        <form className="card" onSubmit={(e) => void save(e, true)} aria-label="Build a pipeline">
          <div className="row">
            <label>Name<input required value={name} onChange={(e) => setName(e.target.value)} /></label>
            <label>
              Source dataset
              <select required value={source} onChange={(e) => setSource(e.target.value)}>
                <option value="">choose…</option>
                {datasets?.items.map((d) => <option key={d.id} value={d.name}>{d.name}</option>)}
              </select>
            </label>
            <label>Output dataset<input required value={sink} onChange={(e) => setSink(e.target.value)} /></label>
          </div>
          <fieldset>
            <legend>Steps</legend>
            {rows.map((row, i) => {
              const meta = STEP_OPS[row.op];
              return (
                <div className="row step" key={i}>
                  <label>
                    Step {i + 1} operation
                    <select value={row.op} onChange={(e) => update(i, { op: e.target.value })}>
                      {Object.keys(STEP_OPS).map((op) => <option key={op}>{op}</option>)}
                    </select>
                  </label>
                  {meta?.a && <label>{meta.a}<input value={row.a} placeholder={meta.help}
                                                    onChange={(e) => update(i, { a: e.target.value })} /></label>}
                  {meta?.b && <label>{meta.b}<input value={row.b}
                                                    onChange={(e) => update(i, { b: e.target.value })} /></label>}
                  <button type="button" aria-label={`Remove step ${i + 1}`}
                          onClick={() => setRows(rows.filter((_, j) => j !== i))}>Remove</button>
                </div>
              );
            })}
            <button type="button" onClick={() => setRows([...rows, { op: 'filter', a: '', b: '' }])}>
              Add step
            </button>
          </fieldset>
          <div role="tablist" aria-label="Spec view" className="tabs">
            <button type="button" role="tab" aria-selected={view === 'json'} onClick={() => setView('json')}>JSON</button>
            <button type="button" role="tab" aria-selected={view === 'yaml'} onClick={() => setView('yaml')}>YAML</button>
          </div>
          <pre className="spec" aria-label={`Spec as ${view.toUpperCase()}`}>
            {view === 'json' ? JSON.stringify(spec, null, 2) : stringify(spec)}
          </pre>
          {error && <p role="alert" className="error">{error}</p>}
          <div className="actions">
            <button type="submit">Save and run</button>
            <button type="button" onClick={(e) => void save(e, false)}>Save</button>
          </div>
        </form>
      )}
      {jobId && <JobProgress jobId={jobId} />}
      <h2>Saved pipelines</h2>
      <ul className="list">
        {pipelines?.items.map((p) => (
          <li key={p.id}>
            <strong>{p.name}</strong>{' '}
            <span className="muted">{String((p.spec.source as { dataset?: string } | undefined)?.dataset)} →
              {' '}{String((p.spec.sink as { dataset?: string } | undefined)?.dataset)}</span>
            {writer && <button onClick={() => void runExisting(p.id)}>Run</button>}
          </li>
        ))}
      </ul>
    </section>
  );
}
