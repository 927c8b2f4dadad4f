import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { api } from '../api';
import { canWrite } from '../auth/authSlice';
import { formatValue } from '../charts/format';
import { ErrorText } from '../components/ErrorText';
import { usePageTitle } from '../components/usePageTitle';
import { JobProgress, statusBadge } from '../components/JobProgress';
import { useAppSelector } from '../hooks';

/** The text indexes people can search: dataset, column, size, state and the job that built
 * each one. */
function Indexes({ names, onPick }: { names: Record<string, string>; onPick: (id: string) => void }) {
  const { data, error } = api.useGetApiV1NlpIndexesQuery({ limit: 100 }, { pollingInterval: 10_000, skipPollingIfUnfocused: true });
  return (
    <div className="card">
      <h2>Text indexes</h2>
      <ErrorText error={error} />
      {data?.items.length === 0 && <p className="empty">No indexes yet. Build one below from a dataset’s text column, then search it.</p>}
      {!!data?.items.length && (
        <div className="table-wrap">
          <table aria-label="Text indexes">
            <thead><tr><th scope="col">Dataset</th><th scope="col">Column</th><th scope="col" className="num">Version</th>
              <th scope="col" className="num">Rows</th><th scope="col">Model</th><th scope="col">Status</th><th scope="col">Built</th><th scope="col" /></tr></thead>
            <tbody>
              {data.items.map((i) => (
                <tr key={i.id}>
                  <td><Link to={`/datasets/${i.dataset_id}`}>{names[i.dataset_id] ?? i.dataset_id}</Link></td><td>{i.column}</td>
                  <td className="num">{i.version}</td><td className="num">{formatValue(i.num_rows)}</td>
                  <td>{i.model ?? '–'}{i.dim ? <span className="muted"> · {i.dim} dims</span> : null}</td>
                  <td>{i.job_id ? <Link to={`/jobs?job=${i.job_id}`}><span className={statusBadge(i.status)}>{i.status}</span></Link> : i.status}</td>
                  <td>{new Date(i.created_at).toLocaleString()}</td>
                  <td>{i.status === 'ready' && <button className="secondary small" onClick={() => onPick(i.id)}>Search it</button>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

function Search({ indexId, setIndexId, names }: { indexId: string; setIndexId: (id: string) => void; names: Record<string, string> }) {
  const role = useAppSelector((s) => s.auth.user?.role);
  const { data: indexes } = api.useGetApiV1NlpIndexesQuery({ limit: 100 });
  const { data: datasets } = api.useGetApiV1DatasetsQuery({ limit: 200 });
  const [createIndex, { error: createError, isLoading: creating }] = api.usePostApiV1NlpIndexesMutation();
  const [search, { data: hits, error, isLoading: searching, reset }] = api.usePostApiV1NlpIndexesByIndexIdSearchMutation();
  const [query, setQuery] = useState('');
  const [asked, setAsked] = useState('');
  const [dataset, setDataset] = useState('');
  const [column, setColumn] = useState('');
  const [jobId, setJobId] = useState<string | null>(null);
  const textColumns = datasets?.items.find((d) => d.name === dataset)?.latest?.columns
    .filter((c) => c.type === 'string') ?? [];
  const index = indexes?.items.find((i) => i.id === indexId);
  const others = hits?.results[0] ? Object.keys(hits.results[0].row).filter((c) => c !== index?.column) : [];

  return (
    <div className="card">
      <h2>Semantic search</h2>
      <form className="row" aria-label="Search an index" onSubmit={(e: FormEvent) => {
        e.preventDefault();
        reset();
        setAsked(query);
        void search({ indexId, searchRequest: { query, k: 10 } });
      }}>
        <label>
          Index
          <select required value={indexId} onChange={(e) => { setIndexId(e.target.value); reset(); }}>
            <option value="">choose…</option>
            {indexes?.items.filter((i) => i.status === 'ready').map((i) => (
              <option key={i.id} value={i.id}>{names[i.dataset_id] ?? i.dataset_id}.{i.column} (v{i.version})</option>
            ))}
          </select>
        </label>
        <label>Query<input required value={query} onChange={(e) => setQuery(e.target.value)} /></label>
        <button type="submit" disabled={searching}>{searching ? 'Searching…' : 'Search'}</button>
      </form>
      <ErrorText error={error} />
      {hits && index && (
        <div className="table-wrap">
          <table aria-label="Search results">
            <caption>The {hits.results.length} rows of {names[index.dataset_id] ?? 'the dataset'} whose {index.column} is closest to “{asked}”</caption>
            <thead><tr><th scope="col" className="num">Rank</th><th scope="col" className="num">Similarity</th><th scope="col">{index.column}</th>
              {others.map((c) => <th key={c} scope="col">{c}</th>)}</tr></thead>
            <tbody>
              {hits.results.map((h, i) => (
                <tr key={i}>
                  <td className="num">{i + 1}</td><td className="num">{formatValue(h.score, { decimals: 3 })}</td>
                  <td>{formatValue(h.row[index.column], { style: 'text' })}</td>
                  {others.map((c) => <td key={c}>{formatValue(h.row[c], { style: 'text' })}</td>)}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {hits?.results.length === 0 && <p className="empty">No rows in this index.</p>}
      {canWrite(role) && (
        <form className="row" aria-label="Build an index" onSubmit={(e: FormEvent) => {
          e.preventDefault();
          void createIndex({ indexCreate: { dataset, column } }).unwrap().then((r) => setJobId(r.job.id)).catch(() => undefined);
        }}>
          <label>
            Dataset
            <select required value={dataset} onChange={(e) => { setDataset(e.target.value); setColumn(''); }}>
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
          <button type="submit" disabled={creating}>{creating ? 'Starting…' : 'Build index'}</button>
        </form>
      )}
      <ErrorText error={createError} />
      {jobId && <JobProgress jobId={jobId} />}
    </div>
  );
}

function Classify() {
  const [classify, { data, error, isLoading }] = api.usePostApiV1NlpClassifyMutation();
  const [texts, setTexts] = useState('');
  const [labels, setLabels] = useState('');
  // The texts and labels of the request the shown result answers (not the boxes' edits since).
  const [asked, setAsked] = useState<{ texts: string[]; labels: string[] }>({ texts: [], labels: [] });
  const lines = (s: string) => s.split('\n').map((x) => x.trim()).filter(Boolean);
  return (
    <div className="card">
      <h2>Zero-shot classification</h2>
      <form aria-label="Classify texts" onSubmit={(e: FormEvent) => {
        e.preventDefault();
        setAsked({ texts: lines(texts), labels: lines(labels) });
        void classify({ classifyRequest: { texts: lines(texts), labels: lines(labels) } });
      }}>
        <div className="row">
          <label>Texts (one per line)<textarea rows={4} required value={texts} onChange={(e) => setTexts(e.target.value)} /></label>
          <label>Labels (one per line)<textarea rows={4} required value={labels} onChange={(e) => setLabels(e.target.value)} /></label>
        </div>
        <button type="submit" disabled={isLoading}>{isLoading ? 'Classifying…' : 'Classify'}</button>
      </form>
      <ErrorText error={error} />
      {data && (
        <div className="table-wrap">
          <table aria-label="Classifications">
            <thead><tr><th scope="col">Text</th><th scope="col">Label</th>{asked.labels.map((l) => <th key={l} scope="col" className="num">{l}</th>)}</tr></thead>
            <tbody>
              {data.results.map((r, i) => (
                <tr key={i}>
                  <td>{asked.texts[i]}</td><td><strong>{r.label}</strong></td>
                  {asked.labels.map((l) => <td key={l} className="num">{formatValue(r.scores[l], { style: 'percent' })}</td>)}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

export default function Nlp() {
  usePageTitle('NLP');
  const { data: datasets } = api.useGetApiV1DatasetsQuery({ limit: 200 });
  const names = Object.fromEntries((datasets?.items ?? []).map((d) => [d.id, d.name]));
  const [indexId, setIndexId] = useState('');
  return (
    <section aria-labelledby="nlp-title">
      <h1 id="nlp-title">NLP</h1>
      <Indexes names={names} onPick={setIndexId} />
      <Search indexId={indexId} setIndexId={setIndexId} names={names} />
      <Classify />
    </section>
  );
}
