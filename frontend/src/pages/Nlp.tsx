import { useState, type FormEvent } from 'react';
import { api } from '../api';
import { canWrite } from '../auth/authSlice';
import { DataTable } from '../components/DataTable';
import { ErrorText } from '../components/ErrorText';
import { JobProgress } from '../components/JobProgress';
import { useAppSelector } from '../hooks';

function Search() {
  const role = useAppSelector((s) => s.auth.user?.role);
  const { data: indexes } = api.useGetApiV1NlpIndexesQuery({ limit: 100 });
  const { data: datasets } = api.useGetApiV1DatasetsQuery({ limit: 200 });
  const [createIndex, { error: createError }] = api.usePostApiV1NlpIndexesMutation();
  const [search, { data: hits, error }] = api.usePostApiV1NlpIndexesByIndexIdSearchMutation();
  const [indexId, setIndexId] = useState('');
  const [query, setQuery] = useState('');
  const [dataset, setDataset] = useState('');
  const [column, setColumn] = useState('');
  const [jobId, setJobId] = useState<string | null>(null);
  const names = Object.fromEntries((datasets?.items ?? []).map((d) => [d.id, d.name]));
  const textColumns = datasets?.items.find((d) => d.name === dataset)?.latest?.columns
    .filter((c) => c.type === 'string') ?? [];
  const columns = hits?.results[0] ? ['score', ...Object.keys(hits.results[0].row)] : [];

  return (
    <div className="card">
      <h2>Semantic search</h2>
      <form className="row" aria-label="Search an index" onSubmit={(e: FormEvent) => {
        e.preventDefault();
        void search({ indexId, searchRequest: { query, k: 10 } });
      }}>
        <label>
          Index
          <select required value={indexId} onChange={(e) => setIndexId(e.target.value)}>
            <option value="">choose…</option>
            {indexes?.items.filter((i) => i.status === 'ready').map((i) => (
              <option key={i.id} value={i.id}>{names[i.dataset_id] ?? i.dataset_id}.{i.column} (v{i.version})</option>
            ))}
          </select>
        </label>
        <label>Query<input required value={query} onChange={(e) => setQuery(e.target.value)} /></label>
        <button type="submit">Search</button>
      </form>
      <ErrorText error={error} />
      {hits && <DataTable caption="Closest rows" columns={columns}
                          rows={hits.results.map((h) => [h.score.toFixed(3), ...Object.values(h.row)])} />}
      {canWrite(role) && (
        <form className="row" aria-label="Build an index" onSubmit={(e: FormEvent) => {
          e.preventDefault();
          void createIndex({ indexCreate: { dataset, column } }).unwrap().then((r) => setJobId(r.job.id));
        }}>
          <label>
            Dataset
            <select required value={dataset} onChange={(e) => setDataset(e.target.value)}>
              <option value="">choose…</option>
              {datasets?.items.map((d) => <option key={d.id}>{d.name}</option>)}
            </select>
          </label>
          <label>
            Text column
            <select required value={column} onChange={(e) => setColumn(e.target.value)}>
              <option value="">choose…</option>
              {textColumns.map((c) => <option key={c.name}>{c.name}</option>)}
            </select>
          </label>
          <button type="submit">Build index</button>
        </form>
      )}
      <ErrorText error={createError} />
      {jobId && <JobProgress jobId={jobId} />}
    </div>
  );
}

function Classify() {
  const [classify, { data, error }] = api.usePostApiV1NlpClassifyMutation();
  const [texts, setTexts] = useState('');
  const [labels, setLabels] = useState('');
  const lines = (s: string) => s.split('\n').map((x) => x.trim()).filter(Boolean);
  return (
    <div className="card">
      <h2>Zero-shot classification</h2>
      <form aria-label="Classify texts" onSubmit={(e: FormEvent) => {
        e.preventDefault();
        void classify({ classifyRequest: { texts: lines(texts), labels: lines(labels) } });
      }}>
        <div className="row">
          <label>Texts (one per line)<textarea rows={4} required value={texts} onChange={(e) => setTexts(e.target.value)} /></label>
          <label>Labels (one per line)<textarea rows={4} required value={labels} onChange={(e) => setLabels(e.target.value)} /></label>
        </div>
        <button type="submit">Classify</button>
      </form>
      <ErrorText error={error} />
      {data && (
        <ol aria-label="Classifications">
          {data.results.map((r, i) => (
            <li key={i}><strong>{r.label}</strong> <span className="muted">
              {Object.entries(r.scores).map(([l, s]) => `${l} ${s.toFixed(2)}`).join(' · ')}</span></li>
          ))}
        </ol>
      )}
    </div>
  );
}

export default function Nlp() {
  return (
    <section aria-labelledby="nlp-title">
      <h1 id="nlp-title">NLP</h1>
      <Search />
      <Classify />
    </section>
  );
}
