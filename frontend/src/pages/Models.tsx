import { useState, type FormEvent } from 'react';
import { api, type TrainSpec } from '../api';
import { canWrite } from '../auth/authSlice';
import { ErrorText } from '../components/ErrorText';
import { JobProgress } from '../components/JobProgress';
import { useAppSelector } from '../hooks';

const ALGORITHMS: Record<TrainSpec['task'], TrainSpec['algorithm'][]> = {
  classification: ['logistic', 'random_forest', 'hist_gradient_boosting'],
  regression: ['linear', 'random_forest', 'hist_gradient_boosting'],
  text_classification: ['embeddings_logistic'],
};

function TrainForm() {
  const { data: datasets } = api.useGetApiV1DatasetsQuery({ limit: 200 });
  const [train, { error }] = api.usePostApiV1ModelsTrainMutation();
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
      <button type="submit">Train</button>
      {jobId && <JobProgress jobId={jobId} />}
    </form>
  );
}

function ModelDetail({ name, writer }: { name: string; writer: boolean }) {
  const { data, error } = api.useGetApiV1ModelsByNameQuery({ name });
  const [setAlias] = api.usePostApiV1ModelsByNameAliasesAndAliasMutation();
  const [predict, { data: predicted, error: predictError }] = api.usePostApiV1ModelsByNamePredictMutation();
  const [records, setRecords] = useState('');
  const [parseError, setParseError] = useState('');
  if (!data) return error ? <ErrorText error={error} /> : <p className="loading">Loading…</p>;
  const latest = data.latest;
  const example = JSON.stringify([Object.fromEntries((latest?.features ?? []).map((f) => [
    String(f.name), f.type === 'int' || f.type === 'float' ? 0 : f.type === 'bool' ? false
      : (f.categories as string[] | undefined)?.[0] ?? 'text']))], null, 2);

  const tryIt = (event: FormEvent) => {
    event.preventDefault();
    setParseError('');
    let parsed: Record<string, unknown>[];
    try {
      parsed = JSON.parse(records || example) as Record<string, unknown>[];
    } catch (e) {
      setParseError(`Records must be a JSON list of objects: ${(e as Error).message}`);
      return;
    }
    void predict({ name, predictRequest: { records: parsed } });
  };

  return (
    <article className="card" aria-label={`Model ${name}`}>
      <h2>{name}</h2>
      <p className="muted">Aliases: {Object.entries(data.aliases).map(([a, v]) => `${a} → v${v}`).join(', ') || 'none'}</p>
      <div className="table-wrap">
        <table>
          <thead><tr><th scope="col">Version</th><th scope="col">Algorithm</th><th scope="col">Status</th>
            <th scope="col">Metrics</th><th scope="col">Rows</th>{writer && <th scope="col">Promote</th>}</tr></thead>
          <tbody>
            {data.versions.map((v) => (
              <tr key={v.version}>
                <td>v{v.version}</td><td>{v.algorithm}</td><td>{v.status}</td>
                <td>{Object.entries(v.metrics).filter(([, m]) => typeof m === 'number')
                  .map(([k, m]) => `${k} ${(m as number).toFixed(3)}`).join(' · ')}</td>
                <td>{v.train_rows}</td>
                {writer && (
                  <td>
                    {['staging', 'production'].map((alias) => (
                      <button key={alias} onClick={() => void setAlias({ name, alias, aliasUpdate: { version: v.version } })}>
                        {alias}
                      </button>
                    ))}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {latest && Object.keys(latest.feature_importances).length > 0 && (
        <p className="muted">Importances: {Object.entries(latest.feature_importances)
          .map(([k, v]) => `${k} ${Number(v).toFixed(2)}`).join(' · ')}</p>
      )}
      <form onSubmit={tryIt} aria-label={`Try ${name}`}>
        <label>
          Try it: records (JSON)
          <textarea rows={6} value={records || example} onChange={(e) => setRecords(e.target.value)} />
        </label>
        <button type="submit">Predict</button>
      </form>
      {parseError && <p role="alert" className="error">{parseError}</p>}
      <ErrorText error={predictError} />
      {predicted && (
        <ol className="predictions" aria-label="Predictions">
          {predicted.predictions.map((p, i) => (
            <li key={i}>
              <strong>{String(p.prediction)}</strong>
              {p.probabilities && ` (${Object.entries(p.probabilities).map(([c, v]) => `${c}: ${v.toFixed(3)}`).join(', ')})`}
            </li>
          ))}
        </ol>
      )}
    </article>
  );
}

export default function Models() {
  const role = useAppSelector((s) => s.auth.user?.role);
  const { data, error } = api.useGetApiV1ModelsQuery({ limit: 100 });
  const [selected, setSelected] = useState<string | null>(null);
  return (
    <section aria-labelledby="models-title">
      <h1 id="models-title">Models</h1>
      {canWrite(role) && <TrainForm />}
      <ErrorText error={error} />
      <ul className="list">
        {data?.items.map((m) => (
          <li key={m.id}>
            <button className="link" aria-pressed={selected === m.name} onClick={() => setSelected(m.name)}>{m.name}</button>
            <span className="muted"> latest v{m.latest?.version ?? '–'} · {m.latest?.task}</span>
          </li>
        ))}
      </ul>
      {selected && <ModelDetail key={selected} name={selected} writer={canWrite(role)} />}
      {data?.items.length === 0 && <p className="muted">No models yet.</p>}
    </section>
  );
}
