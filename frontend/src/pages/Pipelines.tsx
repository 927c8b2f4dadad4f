import { useEffect, useMemo, useState, type FormEvent, type ReactNode } from 'react';
import { Link } from 'react-router';
import { api, problemMessage, type PipelinePublic } from '../api';
import { canWrite, isAdmin } from '../auth/authSlice';
import { ErrorText } from '../components/ErrorText';
import { JobProgress, statusBadge } from '../components/JobProgress';
import { usePageTitle } from '../components/usePageTitle';
import { useAppSelector } from '../hooks';
import {
  AGG_OPS, changeKind, cleanSpec, emptySpec, errorsByStep, parseSpecText, specText, STEP_KINDS,
  TYPES, type Spec, type Step,
} from './pipelineForm';

type Columns = Record<string, string>;
type Draft = { id?: string; version?: number; name: string; spec: Spec };
type Problem = { detail?: string; errors?: { loc: string[]; msg: string }[] };

const problemOf = (e: unknown): Problem | undefined => (e as { data?: Problem } | undefined)?.data;

/** A multi-column picker fed by the step's input schema. */
function ColumnChecks({ legend, columns, value, onChange }: {
  legend: string; columns: Columns; value: string[]; onChange: (v: string[]) => void;
}) {
  const names = [...new Set([...Object.keys(columns), ...value])];
  return (
    <fieldset className="checks">
      <legend>{legend}</legend>
      {names.length === 0 && <span className="muted">choose the source dataset first</span>}
      {names.map((c) => (
        <label key={c} className="check">
          <input type="checkbox" checked={value.includes(c)}
                 onChange={(e) => onChange(e.target.checked ? [...value, c] : value.filter((x) => x !== c))} />
          {c} {columns[c] && <span className="muted">({columns[c]})</span>}
        </label>
      ))}
    </fieldset>
  );
}

function ColumnSelect({ label, columns, value, onChange, empty = 'choose…' }: {
  label: string; columns: Columns; value: string; onChange: (v: string) => void; empty?: string;
}) {
  const names = [...new Set([...Object.keys(columns), ...(value ? [value] : [])])];
  return (
    <label>{label}
      <select value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">{empty}</option>
        {names.map((c) => <option key={c} value={c}>{c}{columns[c] ? ` (${columns[c]})` : ''}</option>)}
      </select>
    </label>
  );
}

/** A mapping edited as rows (column -> value): rename, cast, fill_null. */
function Pairs({ legend, columns, value, onChange, right }: {
  legend: string; columns: Columns; value: Record<string, unknown>;
  onChange: (v: Record<string, unknown>) => void;
  right: (column: string, v: unknown, set: (v: unknown) => void) => ReactNode;
}) {
  const entries = Object.entries(value);
  const [adding, setAdding] = useState('');
  return (
    <fieldset className="pairs">
      <legend>{legend}</legend>
      {entries.map(([column, v]) => (
        <div className="row" key={column}>
          <span className="pair-key">{column}</span>
          {right(column, v, (next) => onChange({ ...value, [column]: next }))}
          <button type="button" className="ghost" aria-label={`Remove ${column}`}
                  onClick={() => onChange(Object.fromEntries(entries.filter(([c]) => c !== column)))}>×</button>
        </div>
      ))}
      <div className="row">
        <ColumnSelect label="Add column" columns={Object.fromEntries(Object.entries(columns).filter(([c]) => !(c in value)))}
                      value={adding} onChange={(c) => { if (c) onChange({ ...value, [c]: '' }); setAdding(''); }} />
      </div>
    </fieldset>
  );
}

const typed = (raw: string, type: string | undefined): unknown =>
  (type === 'int' || type === 'float') && raw.trim() !== '' && !Number.isNaN(Number(raw)) ? Number(raw)
    : type === 'bool' && (raw === 'true' || raw === 'false') ? raw === 'true' : raw;

/** The fields of one step, by kind. */
function StepFields({ step, columns, set, datasets, models }: {
  step: Step; columns: Columns; set: (patch: Partial<Step>) => void; datasets: string[]; models: string[];
}) {
  const text = (key: string, label: string, placeholder?: string) => (
    <label>{label}<input value={String(step[key] ?? '')} placeholder={placeholder} onChange={(e) => set({ [key]: e.target.value })} /></label>
  );
  const number = (key: string, label: string, props: { min?: number; max?: number; step?: number | 'any' }) => (
    <label>{label}<input type="number" {...props} value={String(step[key] ?? '')}
                         onChange={(e) => set({ [key]: e.target.value === '' ? '' : Number(e.target.value) })} /></label>
  );
  const list = (key: string) => (step[key] as string[] | undefined) ?? [];
  switch (step.op) {
    case 'filter':
      return text('expr', 'Expression', "e.g. amount > 0 and country != 'FR'");
    case 'derive':
      return <>{text('column', 'New column')}{text('expr', 'Expression', 'e.g. amount * 0.92')}</>;
    case 'select':
      return <ColumnChecks legend="Keep columns" columns={columns} value={list('columns')} onChange={(v) => set({ columns: v })} />;
    case 'drop_null':
      return <ColumnChecks legend="Drop a row when one of these is missing (none checked: any column)" columns={columns}
                           value={list('columns')} onChange={(v) => set({ columns: v })} />;
    case 'dedupe':
      return <ColumnChecks legend="Key columns (none checked: whole rows)" columns={columns} value={list('columns')} onChange={(v) => set({ columns: v })} />;
    case 'rename':
      return <Pairs legend="Rename" columns={columns} value={(step.mapping ?? {}) as Record<string, unknown>} onChange={(v) => set({ mapping: v })}
                    right={(c, v, put) => <label>New name for {c}<input value={String(v ?? '')} onChange={(e) => put(e.target.value)} /></label>} />;
    case 'cast':
      return (
        <>
          <Pairs legend="Cast" columns={columns} value={(step.columns ?? {}) as Record<string, unknown>} onChange={(v) => set({ columns: v })}
                 right={(c, v, put) => (
                   <label>Type of {c}
                     <select value={String(v ?? '')} onChange={(e) => put(e.target.value)}>
                       <option value="">choose…</option>
                       {TYPES.map((t) => <option key={t}>{t}</option>)}
                     </select>
                   </label>
                 )} />
          <label>When a value does not convert
            <select value={String(step.on_error ?? 'fail')} onChange={(e) => set({ on_error: e.target.value })}>
              <option value="fail">fail the run</option><option value="null">make it null</option>
            </select>
          </label>
        </>
      );
    case 'fill_null':
      return <Pairs legend="Fill missing values" columns={columns} value={(step.values ?? {}) as Record<string, unknown>} onChange={(v) => set({ values: v })}
                    right={(c, v, put) => <label>Value for {c}<input value={String(v ?? '')} onChange={(e) => put(typed(e.target.value, columns[c]))} /></label>} />;
    case 'join':
      return (
        <>
          <label>Join with
            <select value={String(step.dataset ?? '')} onChange={(e) => set({ dataset: e.target.value })}>
              <option value="">choose…</option>
              {datasets.map((d) => <option key={d}>{d}</option>)}
            </select>
          </label>
          <ColumnChecks legend="On (same name on both sides)" columns={columns} value={list('on')} onChange={(v) => set({ on: v })} />
          <label>Keep
            <select value={String(step.how ?? 'inner')} onChange={(e) => set({ how: e.target.value })}>
              <option value="inner">rows on both sides (inner)</option><option value="left">every row of this side (left)</option>
              <option value="right">every row of the other (right)</option><option value="outer">every row (outer)</option>
            </select>
          </label>
          {text('suffix', 'Suffix for clashing names', '_right')}
        </>
      );
    case 'aggregate': {
      const aggs = (step.aggregations ?? []) as { op: string; column?: string; q?: number; as?: string }[];
      const put = (i: number, patch: object) => set({ aggregations: aggs.map((a, j) => (j === i ? { ...a, ...patch } : a)) });
      return (
        <>
          <ColumnChecks legend="Group by" columns={columns} value={list('group_by')} onChange={(v) => set({ group_by: v })} />
          <fieldset className="pairs">
            <legend>Aggregations</legend>
            {aggs.map((a, i) => (
              <div className="row" key={i}>
                <label>Aggregation {i + 1}
                  <select value={a.op} onChange={(e) => put(i, { op: e.target.value })}>
                    {AGG_OPS.map((op) => <option key={op}>{op}</option>)}
                  </select>
                </label>
                <ColumnSelect label={`Of column ${i + 1}`} columns={columns} value={a.column ?? ''} empty="(rows)"
                              onChange={(c) => put(i, { column: c || undefined })} />
                {a.op === 'quantile' && <label>q<input type="number" min={0} max={1} step="any" value={a.q ?? ''} onChange={(e) => put(i, { q: Number(e.target.value) })} /></label>}
                <label>Output name<input value={a.as ?? ''} placeholder="default" onChange={(e) => put(i, { as: e.target.value || undefined })} /></label>
                {aggs.length > 1 && <button type="button" className="ghost" aria-label={`Remove aggregation ${i + 1}`}
                                            onClick={() => set({ aggregations: aggs.filter((_, j) => j !== i) })}>×</button>}
              </div>
            ))}
            <button type="button" className="secondary" onClick={() => set({ aggregations: [...aggs, { op: 'sum' }] })}>Add aggregation</button>
          </fieldset>
        </>
      );
    }
    case 'sort': {
      const by = (step.by ?? []) as { column: string; desc?: boolean }[];
      const put = (i: number, patch: object) => set({ by: by.map((k, j) => (j === i ? { ...k, ...patch } : k)) });
      return (
        <fieldset className="pairs">
          <legend>Sort by</legend>
          {by.map((k, i) => (
            <div className="row" key={i}>
              <ColumnSelect label={`Sort column ${i + 1}`} columns={columns} value={k.column} onChange={(c) => put(i, { column: c })} />
              <label className="check"><input type="checkbox" checked={!!k.desc} onChange={(e) => put(i, { desc: e.target.checked })} />descending</label>
              {by.length > 1 && <button type="button" className="ghost" aria-label={`Remove sort column ${i + 1}`} onClick={() => set({ by: by.filter((_, j) => j !== i) })}>×</button>}
            </div>
          ))}
          <button type="button" className="secondary" onClick={() => set({ by: [...by, { column: '', desc: false }] })}>Add sort column</button>
        </fieldset>
      );
    }
    case 'limit':
      return number('n', 'Rows', { min: 0, step: 1 });
    case 'sample':
      return <>{number('fraction', 'Fraction of rows (0–1]', { min: 0, max: 1, step: 'any' })}{number('seed', 'Seed', { step: 1 })}</>;
    case 'predict':
      return (
        <>
          <label>Model
            <select value={String(step.model ?? '')} onChange={(e) => set({ model: e.target.value })}>
              <option value="">choose…</option>
              {models.map((m) => <option key={m}>{m}</option>)}
            </select>
          </label>
          {text('alias', 'Alias (default: production, else latest)', 'production')}
          {text('output', 'Output column')}
          <label className="check"><input type="checkbox" checked={!!step.probability} onChange={(e) => set({ probability: e.target.checked })} />add the probability</label>
        </>
      );
    case 'embed':
      return <><ColumnSelect label="Text column" columns={columns} value={String(step.column ?? '')} onChange={(c) => set({ column: c })} />{text('output', 'Output column')}</>;
    default:
      return <p className="muted">Edit this step in the JSON or YAML view.</p>;
  }
}

/** The builder: the form and the JSON/YAML text edit one spec, checked by the API as you
 * type (the same check as a save), which also tells each step which columns it sees. */
function Editor({ draft, onClose }: { draft: Draft; onClose: () => void }) {
  const { data: datasets } = api.useGetApiV1DatasetsQuery({ limit: 200 });
  const { data: modelList } = api.useGetApiV1ModelsQuery({ limit: 100 });
  const [create, { isLoading: creating }] = api.usePostApiV1PipelinesMutation();
  const [update, { isLoading: updating }] = api.usePutApiV1PipelinesByPipelineIdMutation();
  const [run] = api.usePostApiV1PipelinesByPipelineIdRunsMutation();
  const [validate, { data: checked, error: invalid, isLoading: checking }] = api.usePostApiV1PipelinesValidateMutation();
  const [name, setName] = useState(draft.name);
  const [spec, setSpec] = useState<Spec>(draft.spec);
  const [view, setView] = useState<'json' | 'yaml'>('yaml');
  const [text, setText] = useState(() => specText(draft.spec, 'yaml'));
  const [textError, setTextError] = useState('');
  const [saveError, setSaveError] = useState('');
  const [saved, setSaved] = useState<PipelinePublic | null>(null);
  const [jobId, setJobId] = useState<string | null>(null);
  const [known, setKnown] = useState<Columns[]>([]);
  // What this editor saves over: the pipeline it opened, then each version it saved.
  const [current, setCurrent] = useState(draft.id ? { id: draft.id, version: draft.version ?? 1 } : null);
  const busy = creating || updating;

  // Live check, debounced; a failed check keeps the columns from the last good one.
  const clean = useMemo(() => cleanSpec(spec), [spec]);
  useEffect(() => {
    if (!clean.source.dataset || !clean.sink.dataset) return undefined;
    const timer = setTimeout(() => {
      void validate({ pipelineSpecBody: { spec: clean } }).unwrap()
        .then((r) => setKnown(r.schemas)).catch(() => undefined);
    }, 400);
    return () => clearTimeout(timer);
  }, [clean, validate]);
  const sourceColumns = Object.fromEntries((datasets?.items.find((d) => d.name === spec.source.dataset || d.id === spec.source.dataset)
    ?.latest?.columns ?? []).map((c) => [c.name, c.type]));
  const columnsAt = (i: number): Columns => known[i] ?? (i === 0 ? sourceColumns : known[known.length - 1] ?? sourceColumns);
  const problems = errorsByStep(invalid ? problemOf(invalid)?.errors : undefined);
  const invalidText = invalid && !problemOf(invalid)?.errors?.length ? problemMessage(invalid as Parameters<typeof problemMessage>[0]) : '';

  const edit = (next: Spec) => {
    setSpec(next);
    setText(specText(next, view));
    setTextError('');
    setSaved(null);
  };
  const setStep = (i: number, patch: Partial<Step>) => edit({ ...spec, steps: spec.steps.map((s, j) => (j === i ? { ...s, ...patch } : s)) });
  const move = (i: number, by: number) => {
    const steps = [...spec.steps];
    const [step] = steps.splice(i, 1);
    steps.splice(i + by, 0, step!);
    edit({ ...spec, steps });
  };
  const typeText = (value: string) => {
    setText(value);
    setSaved(null);
    const parsed = parseSpecText(value, view);
    if ('error' in parsed) setTextError(parsed.error);
    else {
      setTextError('');
      setSpec(parsed.spec);
    }
  };
  const switchView = (next: 'json' | 'yaml') => {
    setView(next);
    setText(specText(spec, next));
    setTextError('');
  };

  const save = async (event: FormEvent | null, andRun: boolean) => {
    event?.preventDefault();
    setSaveError('');
    setJobId(null);
    try {
      const body = { name, spec: clean };
      const pipeline = current
        ? await update({ pipelineId: current.id, pipelineUpdate: { ...body, version: current.version } }).unwrap()
        : await create({ pipelineCreate: body }).unwrap();
      setSaved(pipeline);
      setCurrent({ id: pipeline.id, version: pipeline.version ?? 1 });
      if (andRun) setJobId((await run({ pipelineId: pipeline.id }).unwrap()).id);
    } catch (e) {
      setSaveError(problemMessage(e as Parameters<typeof problemMessage>[0]));
    }
  };

  const datasetNames = datasets?.items.map((d) => d.name) ?? [];
  return (
    <form className="card" onSubmit={(e) => void save(e, true)} aria-label={draft.id ? `Edit ${draft.name}` : 'Build a pipeline'}>
      <div className="page-head">
        <h2>{current ? `Edit “${saved?.name ?? draft.name}” (version ${current.version})` : 'New pipeline'}</h2>
        <button type="button" className="ghost" onClick={onClose}>Close</button>
      </div>
      <div className="row">
        <label>Name<input required value={name} onChange={(e) => { setName(e.target.value); setSaved(null); }} /></label>
        <label>
          Source dataset
          <select required value={spec.source.dataset} onChange={(e) => edit({ ...spec, source: { dataset: e.target.value } })}>
            <option value="">choose…</option>
            {datasetNames.map((d) => <option key={d} value={d}>{d}</option>)}
          </select>
        </label>
        <label>Output dataset<input required value={spec.sink.dataset} onChange={(e) => edit({ ...spec, sink: { ...spec.sink, dataset: e.target.value } })} /></label>
      </div>
      {checked && !invalid && (
        <p className="muted" role="status" aria-label="Check">
          ✓ Valid · {Object.keys(checked.schemas[checked.schemas.length - 1] ?? {}).length} output column(s) ·
          {checked.sink_exists ? ` a run adds a version to ${spec.sink.dataset}` : ` the first run creates ${spec.sink.dataset}`}
        </p>
      )}
      {checking && <p className="muted">Checking…</p>}
      {(problems.get(-1) ?? []).concat(invalidText ? [invalidText] : []).map((m) => <p key={m} role="alert" className="error">{m}</p>)}
      <fieldset>
        <legend>Steps</legend>
        {spec.steps.length === 0 && <p className="empty">No steps: the output is a copy of the source. Add a step to filter, join or aggregate.</p>}
        {spec.steps.map((step, i) => (
          <div className="step" key={i} aria-label={`Step ${i + 1}`} role="group">
            <div className="row">
              <label>
                Step {i + 1} operation
                <select value={step.op} onChange={(e) => edit({ ...spec, steps: spec.steps.map((s, j) => (j === i ? changeKind(e.target.value) : s)) })}>
                  {Object.entries(STEP_KINDS).map(([op, k]) => <option key={op} value={op}>{k.label}</option>)}
                </select>
              </label>
              <span className="muted">{Object.keys(columnsAt(i)).length} column(s) in</span>
              <div className="actions">
                <button type="button" className="ghost" disabled={i === 0} aria-label={`Move step ${i + 1} up`} onClick={() => move(i, -1)}>↑</button>
                <button type="button" className="ghost" disabled={i === spec.steps.length - 1} aria-label={`Move step ${i + 1} down`} onClick={() => move(i, 1)}>↓</button>
                <button type="button" className="ghost" aria-label={`Remove step ${i + 1}`}
                        onClick={() => edit({ ...spec, steps: spec.steps.filter((_, j) => j !== i) })}>Remove</button>
              </div>
            </div>
            <div className="row">
              <StepFields step={step} columns={columnsAt(i)} set={(patch) => setStep(i, patch)} datasets={datasetNames}
                          models={modelList?.items.map((m) => m.name) ?? []} />
            </div>
            {(problems.get(i) ?? []).map((m) => <p key={m} role="alert" className="error">{m}</p>)}
          </div>
        ))}
        <button type="button" className="secondary" onClick={() => edit({ ...spec, steps: [...spec.steps, changeKind('filter')] })}>
          Add step
        </button>
      </fieldset>
      <div role="tablist" aria-label="Spec view" className="tabs">
        <button type="button" role="tab" aria-selected={view === 'yaml'} onClick={() => switchView('yaml')}>YAML</button>
        <button type="button" role="tab" aria-selected={view === 'json'} onClick={() => switchView('json')}>JSON</button>
      </div>
      <textarea className="spec" rows={Math.min(24, Math.max(8, text.split('\n').length + 1))} spellCheck={false}
                aria-label={`Spec as ${view.toUpperCase()}`} aria-invalid={!!textError} value={text} onChange={(e) => typeText(e.target.value)} />
      {textError && <p role="alert" className="error">{textError}</p>}
      {saveError && <p role="alert" className="error">{saveError}</p>}
      {saved && <p role="status">Saved “{saved.name}” (version {saved.version})</p>}
      <div className="actions">
        <button type="submit" disabled={busy || !!textError}>{busy ? 'Saving…' : 'Save and run'}</button>
        <button type="button" className="secondary" disabled={busy || !!textError} onClick={() => void save(null, false)}>Save</button>
      </div>
      {jobId && <JobProgress jobId={jobId} />}
    </form>
  );
}

function LastRun({ jobId }: { jobId: string | null }) {
  const { data: job } = api.useGetApiV1JobsByJobIdQuery({ jobId: jobId ?? '' }, { skip: !jobId });
  if (!jobId) return <span className="muted">never run</span>;
  if (!job) return <span className="muted">…</span>;
  return (
    <span>
      <Link to={`/jobs?job=${job.id}`}><span className={statusBadge(job.status)}>{job.status}</span></Link>
      {job.finished_at && <span className="muted"> {new Date(job.finished_at).toLocaleString()}</span>}
    </span>
  );
}

function History({ pipeline, onLoad }: { pipeline: PipelinePublic; onLoad: (d: Draft) => void }) {
  const { data, error } = api.useGetApiV1PipelinesByPipelineIdVersionsQuery({ pipelineId: pipeline.id });
  return (
    <section className="card" aria-label={`History of ${pipeline.name}`}>
      <h2>History of {pipeline.name}</h2>
      <ErrorText error={error} />
      <div className="table-wrap">
        <table>
          <thead><tr><th scope="col" className="num">Version</th><th scope="col">Name</th><th scope="col">Saved</th><th scope="col">Steps</th><th scope="col" /></tr></thead>
          <tbody>
            {data?.items.map((v) => (
              <tr key={v.version}>
                <td className="num">{v.version}</td><td>{v.name}</td><td>{new Date(v.created_at).toLocaleString()}</td>
                <td>{((v.spec.steps ?? []) as Step[]).map((s) => s.op).join(' → ') || '–'}</td>
                <td>{v.version !== pipeline.version && (
                  <button className="link" onClick={() => onLoad({ id: pipeline.id, version: pipeline.version, name: pipeline.name, spec: v.spec as Spec })}>
                    Restore into the editor
                  </button>
                )}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

export default function Pipelines() {
  usePageTitle('Pipelines');
  const user = useAppSelector((s) => s.auth.user);
  const writer = canWrite(user?.role);
  const { data: pipelines, error } = api.useGetApiV1PipelinesQuery({ limit: 100 });
  const { data: datasets } = api.useGetApiV1DatasetsQuery({ limit: 200 });
  const [run] = api.usePostApiV1PipelinesByPipelineIdRunsMutation();
  const [remove] = api.useDeleteApiV1PipelinesByPipelineIdMutation();
  const [draft, setDraft] = useState<Draft | null>(writer ? { name: '', spec: emptySpec() } : null);
  const [editorKey, setEditorKey] = useState(0);
  const [history, setHistory] = useState<PipelinePublic | null>(null);
  const [jobId, setJobId] = useState<string | null>(null);
  const [actionError, setActionError] = useState('');
  const open = (d: Draft) => {
    setDraft(d);
    setEditorKey((k) => k + 1);
    window.scrollTo({ top: 0, behavior: 'smooth' });
  };
  const mine = (p: PipelinePublic) => writer && (isAdmin(user?.role) || p.owner_id === user?.id);
  const act = async (f: () => Promise<unknown>) => {
    setActionError('');
    try {
      await f();
    } catch (e) {
      setActionError(problemMessage(e as Parameters<typeof problemMessage>[0]));
    }
  };
  const datasetId = (ref: unknown) => datasets?.items.find((d) => d.name === ref || d.id === ref)?.id;
  const nameOf = (ref: unknown) => datasets?.items.find((d) => d.id === ref)?.name ?? String(ref);

  return (
    <section aria-labelledby="pipelines-title">
      <div className="page-head">
        <h1 id="pipelines-title">Pipelines</h1>
        {writer && <button className="secondary" onClick={() => open({ name: '', spec: emptySpec() })}>New pipeline</button>}
      </div>
      {draft && <Editor key={editorKey} draft={draft} onClose={() => setDraft(null)} />}
      <h2>Saved pipelines</h2>
      <ErrorText error={error} />
      {actionError && <p role="alert" className="error">{actionError}</p>}
      {jobId && <JobProgress jobId={jobId} />}
      {pipelines?.items.length === 0 && <p className="empty">No pipelines yet. {writer ? 'Build one above: pick a source dataset, add steps, name the output.' : 'An analyst can build one.'}</p>}
      {!!pipelines?.items.length && (
        <div className="table-wrap">
          <table>
            <thead><tr><th scope="col">Name</th><th scope="col">Source → output</th><th scope="col" className="num">Version</th>
              <th scope="col">Last run</th><th scope="col">Actions</th></tr></thead>
            <tbody>
              {pipelines.items.map((p) => {
                const source = (p.spec.source as { dataset?: string } | undefined)?.dataset;
                const sink = (p.spec.sink as { dataset?: string } | undefined)?.dataset;
                const sinkId = datasetId(sink);
                const sourceId = datasetId(source);
                return (
                  <tr key={p.id}>
                    <th scope="row">{p.name}</th>
                    <td>
                      {sourceId ? <Link to={`/datasets/${sourceId}`}>{nameOf(source)}</Link> : String(source)} →{' '}
                      {sinkId ? <Link to={`/datasets/${sinkId}`} aria-label={`Output ${sink}`}>{sink}</Link> : <span className="muted">{sink} (not yet run)</span>}
                    </td>
                    <td className="num">{p.version}</td>
                    <td><LastRun jobId={p.last_job_id ?? null} /></td>
                    <td className="actions">
                      {mine(p) && <button className="small" onClick={() => void act(async () => setJobId((await run({ pipelineId: p.id }).unwrap()).id))}>Run</button>}
                      {mine(p) && <button className="secondary small" onClick={() => open({ id: p.id, version: p.version, name: p.name, spec: p.spec as Spec })}>Edit</button>}
                      {writer && <button className="secondary small" onClick={() => open({ name: `${p.name}-copy`, spec: p.spec as Spec })}>Clone</button>}
                      {mine(p) && <Link className="button secondary small" to={`/schedules?pipeline=${p.id}`}>Schedule</Link>}
                      <button className="ghost small" aria-pressed={history?.id === p.id} onClick={() => setHistory(history?.id === p.id ? null : p)}>History</button>
                      {mine(p) && (
                        <button className="danger small" onClick={() => {
                          if (window.confirm(`Delete the pipeline “${p.name}” and its history? Its output datasets stay.`)) {
                            void act(async () => {
                              await remove({ pipelineId: p.id }).unwrap();
                              if (history?.id === p.id) setHistory(null);
                              if (draft?.id === p.id) setDraft(null);
                            });
                          }
                        }}>Delete</button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {history && <History key={history.id} pipeline={history} onLoad={open} />}
    </section>
  );
}
