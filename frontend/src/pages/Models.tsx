import { useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import {
  Bar, BarChart, CartesianGrid, Line, LineChart, ReferenceLine, ResponsiveContainer, Scatter,
  ScatterChart, Tooltip, XAxis, YAxis,
} from 'recharts';
import { api, type ModelVersionPublic, type TrainSpec } from '../api';
import { canWrite } from '../auth/authSlice';
import { formatValue } from '../charts/format';
import { TOOLTIP_STYLE } from '../components/ChartView';
import { ErrorText } from '../components/ErrorText';
import { JobProgress } from '../components/JobProgress';
import { color } from '../components/LiveChart';
import { usePageTitle } from '../components/usePageTitle';
import { useAppSelector } from '../hooks';

const ALGORITHMS: Record<TrainSpec['task'], TrainSpec['algorithm'][]> = {
  classification: ['logistic', 'random_forest', 'hist_gradient_boosting'],
  regression: ['linear', 'random_forest', 'hist_gradient_boosting'],
  text_classification: ['embeddings_logistic'],
};

function TrainForm() {
  const { data: datasets } = api.useGetApiV1DatasetsQuery({ limit: 200 });
  const [train, { error, isLoading, reset }] = api.usePostApiV1ModelsTrainMutation();
  const [model, setModel] = useState('');
  const [dataset, setDataset] = useState('');
  const [target, setTarget] = useState('');
  const [features, setFeatures] = useState<string[]>([]);
  const [task, setTask] = useState<TrainSpec['task']>('classification');
  const [algorithm, setAlgorithm] = useState<TrainSpec['algorithm']>('logistic');
  const [jobId, setJobId] = useState<string | null>(null);
  const columns = datasets?.items.find((d) => d.name === dataset)?.latest?.columns ?? [];

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    reset();
    setJobId(null);
    const job = await train({ trainSpec: {
      model, dataset, target, task, algorithm, features: features.length ? features : null,
    } }).unwrap().catch(() => null);
    if (job) setJobId(job.id);
  };

  return (
    <form className="card" onSubmit={(e) => void submit(e)} aria-label="Train a model">
      <h2>Train</h2>
      <div className="row">
        <label>Model name<input required value={model} onChange={(e) => setModel(e.target.value)} /></label>
        <label>
          Dataset
          <select required value={dataset} onChange={(e) => { setDataset(e.target.value); setFeatures([]); }}>
            <option value="">choose…</option>
            {datasets?.items.map((d) => <option key={d.id}>{d.name}</option>)}
          </select>
        </label>
        <label>
          Target
          <select required value={target} onChange={(e) => setTarget(e.target.value)}>
            <option value="">choose…</option>
            {columns.map((c) => <option key={c.name}>{c.name}</option>)}
          </select>
        </label>
        <label>
          Task
          <select value={task} onChange={(e) => {
            const t = e.target.value as TrainSpec['task'];
            setTask(t);
            setAlgorithm(ALGORITHMS[t][0] ?? 'logistic');
          }}>
            {Object.keys(ALGORITHMS).map((t) => <option key={t}>{t}</option>)}
          </select>
        </label>
        <label>
          Algorithm
          <select value={algorithm} onChange={(e) => setAlgorithm(e.target.value as TrainSpec['algorithm'])}>
            {ALGORITHMS[task].map((a) => <option key={a}>{a}</option>)}
          </select>
        </label>
      </div>
      <fieldset>
        <legend>Features (none checked: every other column)</legend>
        {columns.filter((c) => c.name !== target).map((c) => (
          <label key={c.name} className="check">
            <input type="checkbox" checked={features.includes(c.name)} onChange={(e) =>
              setFeatures(e.target.checked ? [...features, c.name] : features.filter((f) => f !== c.name))} />
            {c.name} <span className="muted">({c.type})</span>
          </label>
        ))}
      </fieldset>
      <ErrorText error={error} />
      <button type="submit" disabled={isLoading}>{isLoading ? 'Starting…' : 'Train'}</button>
      {jobId && <JobProgress jobId={jobId} />}
    </form>
  );
}

type Feature = { name: string; type: string; categories?: unknown[] };
type Diagnostics = {
  confusion_matrix?: { labels: unknown[]; matrix: number[][] };
  roc?: { fpr: number[]; tpr: number[] };
  residuals?: { actual: number[]; predicted: number[] };
};

/** The version's diagnostics on its test split: confusion matrix, ROC, predicted against
 * actual, and the permutation importances. */
function Diagnostics({ version }: { version: ModelVersionPublic }) {
  const d = (version.metrics.diagnostics ?? {}) as Diagnostics;
  const importances = Object.entries(version.feature_importances)
    .map(([name, v]) => ({ name, value: Number(v) })).sort((a, b) => b.value - a.value).slice(0, 20);
  const cm = d.confusion_matrix;
  const most = cm ? Math.max(1, ...cm.matrix.flat()) : 1;
  const roc = d.roc ? d.roc.fpr.map((f, i) => ({ fpr: f, tpr: d.roc!.tpr[i] })) : [];
  const residuals = d.residuals ? d.residuals.actual.map((a, i) => ({ actual: a, predicted: d.residuals!.predicted[i] })) : [];
  const lo = Math.min(...residuals.flatMap((r) => [r.actual, r.predicted ?? r.actual]));
  const hi = Math.max(...residuals.flatMap((r) => [r.actual, r.predicted ?? r.actual]));
  if (!cm && !roc.length && !residuals.length && !importances.length) {
    return <p className="empty">No diagnostics for v{version.version} (trained before Helio kept them): train it again to see them.</p>;
  }
  return (
    <div className="charts" aria-label={`Diagnostics of v${version.version}`} role="region">
      {cm && (
        <figure className="chart" aria-label="Confusion matrix">
          <figcaption>Confusion matrix <span className="muted">(rows: actual, columns: predicted)</span></figcaption>
          <div className="table-wrap">
            <table className="matrix">
              <thead><tr><th scope="col">actual \ predicted</th>{cm.labels.map((l) => <th key={String(l)} scope="col" className="num">{String(l)}</th>)}</tr></thead>
              <tbody>
                {cm.matrix.map((row, i) => (
                  <tr key={i}>
                    <th scope="row">{String(cm.labels[i])}</th>
                    {row.map((n, j) => (
                      <td key={j} className="num" style={{ background: `rgba(78, 121, 167, ${0.08 + 0.8 * (n / most)})`, color: n / most > 0.55 ? '#fff' : undefined }}>
                        {formatValue(n)}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </figure>
      )}
      {roc.length > 0 && (
        <figure className="chart" role="img" aria-label={`ROC curve, AUC ${formatValue(version.metrics.roc_auc, { decimals: 3 })}`}>
          <figcaption>ROC curve · AUC {formatValue(version.metrics.roc_auc, { decimals: 3 })}</figcaption>
          <ResponsiveContainer width="100%" height={240}>
            <LineChart data={roc} margin={{ top: 8, right: 16, bottom: 20, left: 8 }}>
              <CartesianGrid strokeDasharray="3 3" stroke="var(--line)" />
              <XAxis dataKey="fpr" type="number" domain={[0, 1]} stroke="var(--muted)"
                     label={{ value: 'False positive rate', position: 'insideBottom', offset: -4, fill: 'var(--muted)' }} />
              <YAxis domain={[0, 1]} width={48} stroke="var(--muted)"
                     label={{ value: 'True positive rate', angle: -90, position: 'insideLeft', fill: 'var(--muted)', style: { textAnchor: 'middle' } }} />
              <Tooltip formatter={(v) => [formatValue(v, { decimals: 3 }), 'true positive rate']}
                       labelFormatter={(v) => `false positive rate ${formatValue(v, { decimals: 3 })}`} contentStyle={TOOLTIP_STYLE} />
              <ReferenceLine segment={[{ x: 0, y: 0 }, { x: 1, y: 1 }]} stroke="var(--muted)" strokeDasharray="4 4" />
              <Line dataKey="tpr" stroke={color(0)} strokeWidth={2} dot={false} isAnimationActive={false} />
            </LineChart>
          </ResponsiveContainer>
        </figure>
      )}
      {residuals.length > 0 && (
        <figure className="chart" role="img" aria-label="Predicted against actual values">
          <figcaption>Predicted against actual <span className="muted">({residuals.length} test rows; on the diagonal is exact)</span></figcaption>
          <ResponsiveContainer width="100%" height={240}>
            <ScatterChart margin={{ top: 8, right: 16, bottom: 20, left: 8 }}>
              <CartesianGrid strokeDasharray="3 3" stroke="var(--line)" />
              <XAxis dataKey="actual" type="number" domain={[lo, hi]} tickFormatter={(v) => formatValue(v, { style: 'compact' })} stroke="var(--muted)"
                     label={{ value: `Actual ${version.target}`, position: 'insideBottom', offset: -4, fill: 'var(--muted)' }} />
              <YAxis dataKey="predicted" type="number" domain={[lo, hi]} width={56} tickFormatter={(v) => formatValue(v, { style: 'compact' })} stroke="var(--muted)"
                     label={{ value: 'Predicted', angle: -90, position: 'insideLeft', fill: 'var(--muted)', style: { textAnchor: 'middle' } }} />
              <Tooltip formatter={(v, n) => [formatValue(v), String(n)]} contentStyle={TOOLTIP_STYLE} />
              <ReferenceLine segment={[{ x: lo, y: lo }, { x: hi, y: hi }]} stroke="var(--muted)" strokeDasharray="4 4" />
              <Scatter data={residuals} fill={color(0)} isAnimationActive={false} />
            </ScatterChart>
          </ResponsiveContainer>
        </figure>
      )}
      {importances.length > 0 && (
        <figure className="chart" role="img" aria-label={`Feature importances: ${importances.map((i) => i.name).join(', ')}`}>
          <figcaption>Feature importance <span className="muted">(permutation, share of the score)</span></figcaption>
          <ResponsiveContainer width="100%" height={Math.max(120, 28 * importances.length + 40)}>
            <BarChart data={importances} layout="vertical" margin={{ top: 4, right: 24, bottom: 4, left: 8 }}>
              <CartesianGrid strokeDasharray="3 3" stroke="var(--line)" />
              <XAxis type="number" tickFormatter={(v) => formatValue(v, { style: 'percent' })} stroke="var(--muted)" />
              <YAxis type="category" dataKey="name" width={140} interval={0} tick={{ fontSize: 12 }} stroke="var(--muted)" />
              <Tooltip formatter={(v) => [formatValue(v, { style: 'percent' }), 'importance']} contentStyle={TOOLTIP_STYLE} />
              <Bar dataKey="value" fill={color(1)} isAnimationActive={false} />
            </BarChart>
          </ResponsiveContainer>
        </figure>
      )}
    </div>
  );
}

const initial = (f: Feature): string =>
  f.categories?.length ? String(f.categories[0]) : f.type === 'bool' ? 'false' : '';

/** One record, typed in a form built from the version's feature schema. */
function TryIt({ name, version }: { name: string; version: ModelVersionPublic }) {
  const features = version.features as Feature[];
  const [values, setValues] = useState<Record<string, string>>(() => Object.fromEntries(features.map((f) => [f.name, initial(f)])));
  const [predict, { data, error, isLoading, reset }] = api.usePostApiV1ModelsByNamePredictMutation();
  const record = () => Object.fromEntries(features.map((f) => {
    const v = values[f.name] ?? '';
    if (v === '') return [f.name, null];
    if (f.type === 'int' || f.type === 'float') return [f.name, Number(v)];
    if (f.type === 'bool') return [f.name, v === 'true'];
    return [f.name, v];
  }));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    reset();
    void predict({ name, version: version.version, predictRequest: { records: [record()] } });
  };
  const prediction = data?.predictions[0];
  return (
    <form className="card" onSubmit={submit} aria-label={`Try ${name}`}>
      <h3>Try v{version.version}</h3>
      <div className="row">
        {features.map((f) => (
          <label key={f.name}>
            {f.name} <span className="muted">({f.type})</span>
            {f.categories?.length ? (
              <select value={values[f.name]} onChange={(e) => setValues({ ...values, [f.name]: e.target.value })}>
                {f.categories.map((c) => <option key={String(c)} value={String(c)}>{String(c)}</option>)}
                <option value="">(missing)</option>
              </select>
            ) : f.type === 'bool' ? (
              <select value={values[f.name]} onChange={(e) => setValues({ ...values, [f.name]: e.target.value })}>
                <option value="false">false</option><option value="true">true</option><option value="">(missing)</option>
              </select>
            ) : (
              <input type={f.type === 'int' || f.type === 'float' ? 'number' : 'text'} step={f.type === 'int' ? 1 : 'any'}
                     value={values[f.name]} placeholder="(missing)" onChange={(e) => setValues({ ...values, [f.name]: e.target.value })} />
            )}
          </label>
        ))}
      </div>
      <button type="submit" disabled={isLoading}>{isLoading ? 'Predicting…' : 'Predict'}</button>
      <ErrorText error={error} />
      {prediction && (
        <div className="prediction" role="status" aria-label="Prediction">
          <p>{version.target}: <strong className="big-value">{formatValue(prediction.prediction)}</strong>
            <span className="muted"> · v{data.version}{data.cached ? ' · cached' : ''}</span></p>
          {prediction.probabilities && (
            <ul className="probabilities">
              {Object.entries(prediction.probabilities).sort((a, b) => b[1] - a[1]).map(([c, p]) => (
                <li key={c}><span>{c}</span><meter min={0} max={1} value={p} aria-label={`Probability of ${c}`} /> {formatValue(p, { style: 'percent' })}</li>
              ))}
            </ul>
          )}
        </div>
      )}
    </form>
  );
}

function ModelDetail({ name, writer }: { name: string; writer: boolean }) {
  const { data, error } = api.useGetApiV1ModelsByNameQuery({ name });
  const [setAlias, { error: aliasError, isLoading: promoting }] = api.usePostApiV1ModelsByNameAliasesAndAliasMutation();
  const [picked, setPicked] = useState<number | null>(null);
  if (!data) return error ? <ErrorText error={error} /> : <p className="loading">Loading…</p>;
  const aliasesOf = (v: number) => Object.entries(data.aliases).filter(([, n]) => n === v).map(([a]) => a);
  const served = data.aliases.production ?? data.latest?.version;
  const version = data.versions.find((v) => v.version === (picked ?? served)) ?? data.latest;

  return (
    <article className="card" aria-label={`Model ${name}`}>
      <h2>{name}</h2>
      <p className="muted">{data.description ?? ''} Predictions without a version use {data.aliases.production ? `production (v${data.aliases.production})` : `the latest (v${data.latest?.version ?? '–'})`}.</p>
      {writer && version && <p><Link className="button secondary small" to={`/schedules?kind=train&target=${encodeURIComponent(JSON.stringify(retrainTarget(name, version)))}`}>Schedule retraining</Link></p>}
      <ErrorText error={aliasError} />
      <div className="table-wrap">
        <table>
          <thead><tr><th scope="col">Version</th><th scope="col">Algorithm</th><th scope="col">Status</th>
            <th scope="col">Metrics</th><th scope="col" className="num">Training rows</th><th scope="col">Trained</th>
            {writer && <th scope="col">Promote</th>}</tr></thead>
          <tbody>
            {data.versions.map((v) => (
              <tr key={v.version} aria-selected={version?.version === v.version}>
                <td>
                  <button className="link" onClick={() => setPicked(v.version)} aria-label={`Show v${v.version}`}>v{v.version}</button>
                  {aliasesOf(v.version).map((a) => <span key={a} className={`badge ${a === 'production' ? 'ok' : ''}`}>{a}</span>)}
                </td>
                <td>{v.algorithm}</td><td>{v.status}{v.error ? `: ${v.error}` : ''}</td>
                <td>{Object.entries(v.metrics).filter(([, m]) => typeof m === 'number')
                  .map(([k, m]) => `${k} ${formatValue(m, { decimals: 3 })}`).join(' · ')}</td>
                <td className="num">{formatValue(v.train_rows)}</td>
                <td>{new Date(v.created_at).toLocaleString()}</td>
                {writer && (
                  <td>
                    {['staging', 'production'].filter((a) => !aliasesOf(v.version).includes(a)).map((alias) => (
                      <button key={alias} className="secondary small" disabled={promoting}
                              onClick={() => void setAlias({ name, alias, aliasUpdate: { version: v.version } })}>
                        To {alias}
                      </button>
                    ))}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {version && version.status === 'ready' && <TryIt key={version.version} name={name} version={version} />}
      {version && <><h3>How v{version.version} did on its test split</h3><Diagnostics version={version} /></>}
    </article>
  );
}

/** The training that made `version`, as a schedule's target: retrain on the dataset's
 * latest version with the same task, algorithm, target and features. */
export function retrainTarget(name: string, version: { task: string; algorithm: string; target: string; features: { [key: string]: unknown }[]; lineage: { [key: string]: unknown } }) {
  return { model: name, dataset: String(version.lineage.dataset_id ?? ''), task: version.task, algorithm: version.algorithm,
    target: version.target, features: version.features.map((f) => String(f.name)) };
}

export default function Models() {
  usePageTitle('Models');
  const role = useAppSelector((s) => s.auth.user?.role);
  const { data, error } = api.useGetApiV1ModelsQuery({ limit: 100 });
  const [params, setParams] = useSearchParams();
  const selected = params.get('model');
  return (
    <section aria-labelledby="models-title">
      <h1 id="models-title">Models</h1>
      {canWrite(role) && <TrainForm />}
      <ErrorText error={error} />
      <ul className="list">
        {data?.items.map((m) => (
          <li key={m.id}>
            <button className="link" aria-pressed={selected === m.name} onClick={() => setParams({ model: m.name })}>{m.name}</button>
            <span className="muted"> latest v{m.latest?.version ?? '–'} · {m.latest?.task}{m.aliases.production ? ` · production v${m.aliases.production}` : ''}</span>
          </li>
        ))}
      </ul>
      {selected && <ModelDetail key={selected} name={selected} writer={canWrite(role)} />}
      {data?.items.length === 0 && (
        <p className="empty">No models yet. {canWrite(role) ? 'Train one above from a dataset: pick the target column and a task.' : 'An analyst can train one.'}</p>
      )}
    </section>
  );
}
