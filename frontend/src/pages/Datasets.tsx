import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { api, type UploadInspection } from '../api';
import { problemText } from '../api/problem';
import { fileHead, uploadDataset } from '../api/upload';
import { canWrite, tokenReceived } from '../auth/authSlice';
import { formatValue } from '../charts/format';
import { ErrorText } from '../components/ErrorText';
import { usePageTitle } from '../components/usePageTitle';
import { useAppDispatch, useAppSelector } from '../hooks';
import { TYPES } from './pipelineForm';

export const size = (b: number): string =>
  b > 2 ** 30 ? `${(b / 2 ** 30).toFixed(1)} GB` : b > 2 ** 20 ? `${(b / 2 ** 20).toFixed(1)} MB` : `${(b / 1024).toFixed(1)} kB`;

type Body = { name?: string; id?: string; detail?: string; errors?: { loc: string[]; msg: string }[] };

function Upload() {
  const dispatch = useAppDispatch();
  const token = useAppSelector((s) => s.auth.accessToken);
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState('');
  const [progress, setProgress] = useState<number | null>(null);
  const [done, setDone] = useState<{ name: string; id?: string } | null>(null);
  const [error, setError] = useState('');
  const [inspection, setInspection] = useState<UploadInspection | null>(null);
  const [inspecting, setInspecting] = useState(false);
  const [overrides, setOverrides] = useState<Record<string, string>>({});
  // The types as inferred with no overrides: what "(inferred)" names in each select.
  const [inferred, setInferred] = useState<Record<string, string>>({});

  const onToken = (t: string) => dispatch(tokenReceived(t));
  const inspect = async (chosen: File, types: Record<string, string>) => {
    setInspecting(true);
    try {
      const result = await uploadDataset(await fileHead(chosen), '', token, () => undefined, onToken,
        { schema: types, path: '/api/v1/datasets/inspect', filename: chosen.name });
      if (result.status === 200) {
        const found = result.body as UploadInspection;
        setInspection(found);
        if (Object.keys(types).length === 0) setInferred(Object.fromEntries(found.columns.map((c) => [c.name, c.type])));
      }
      else {
        setInspection(null);
        setError(problemText(result.body as Body, result.status));
      }
    } catch (e) {
      setError(e instanceof Error ? e.message : 'The file could not be inspected');
    } finally {
      setInspecting(false);
    }
  };
  const choose = (chosen: File | null) => {
    // A new file starts over: no old message, error, progress or preview.
    setFile(chosen);
    setDone(null);
    setError('');
    setInspection(null);
    setOverrides({});
    setInferred({});
    if (chosen) void inspect(chosen, {});
  };
  const override = (column: string, type: string) => {
    const next = { ...overrides };
    if (type) next[column] = type; else delete next[column];
    setOverrides(next);
    setError('');
    if (file) void inspect(file, next);
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!file) return;
    setError('');
    setDone(null);
    setProgress(0);
    try {
      const result = await uploadDataset(file, name, token, setProgress, onToken, { schema: overrides });
      const body = result.body as Body;
      if (result.status === 201) {
        setDone({ name: body.name ?? name, id: body.id });
        setInspection(null);
        dispatch(api.util.invalidateTags(['datasets']));
      } else {
        setError(problemText(body, result.status));
      }
    } catch (e) {
      setError(e instanceof Error ? e.message : 'Upload failed');
    } finally {
      setProgress(null);
    }
  };

  return (
    <form className="card" onSubmit={(e) => void submit(e)} aria-label="Upload a dataset">
      <div className="row">
        <label>
          File (CSV, JSON Lines, Parquet)
          <input type="file" required accept=".csv,.jsonl,.json,.parquet,.txt"
                 onChange={(e) => choose(e.target.files?.[0] ?? null)} />
        </label>
        <label>
          Name
          <input value={name} placeholder="default: the file name" onChange={(e) => setName(e.target.value)} />
        </label>
        <button type="submit" disabled={!file || progress !== null || inspecting}>
          {progress !== null ? 'Uploading…' : 'Upload'}
        </button>
      </div>
      {inspecting && <p className="loading" role="status">Reading the file’s columns…</p>}
      {inspection && (
        <div className="table-wrap" role="region" aria-label="Column types">
          <table>
            <caption>Column types ({inspection.format}); change a type before uploading. First rows:</caption>
            <thead>
              <tr>{inspection.columns.map((c) => <th key={c.name} scope="col">{c.name}</th>)}</tr>
              <tr>
                {inspection.columns.map((c) => (
                  <th key={c.name} scope="col">
                    <select aria-label={`Type of ${c.name}`} value={overrides[c.name] ?? ''}
                            onChange={(e) => override(c.name, e.target.value)}>
                      <option value="">{inferred[c.name] ?? c.type} (inferred)</option>
                      {TYPES.filter((t) => t !== (inferred[c.name] ?? c.type)).map((t) => <option key={t} value={t}>{t}</option>)}
                    </select>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {inspection.rows.slice(0, 5).map((r, i) => (
                <tr key={i}>{r.map((v, j) => <td key={j}>{formatValue(v, { style: 'text' })}</td>)}</tr>
              ))}
            </tbody>
          </table>
          {Object.entries(inspection.hints).map(([column, hint]) => (
            <p key={column} className="notice" role="note">
              <strong>{column}</strong>: {hint}.{' '}
              <button type="button" className="link" onClick={() => override(column, 'string')}>Keep {column} as text</button>
            </p>
          ))}
        </div>
      )}
      {progress !== null && (
        <progress max={1} value={progress} aria-label="Upload progress">{Math.round(progress * 100)}%</progress>
      )}
      {done && <p role="status">Uploaded "{done.name}"{done.id && <> · <Link to={`/datasets/${done.id}`}>Open it</Link></>}</p>}
      {error && <p role="alert" className="error">{error}</p>}
    </form>
  );
}

export default function Datasets() {
  usePageTitle('Datasets');
  const role = useAppSelector((s) => s.auth.user?.role);
  const [search, setSearch] = useState('');
  const { data, error, isFetching } = api.useGetApiV1DatasetsQuery({ search: search || undefined, limit: 100 });
  return (
    <section aria-labelledby="datasets-title">
      <h1 id="datasets-title">Datasets</h1>
      {canWrite(role) && <Upload />}
      <label className="search">
        Search
        <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} />
      </label>
      <ErrorText error={error} />
      {data?.items.length === 0 && !search && (
        <p className="empty">No datasets yet. {canWrite(role) ? 'Upload a CSV, JSON Lines or Parquet file above.' : 'An analyst can upload one.'}</p>
      )}
      <div className="table-wrap">
        <table aria-busy={isFetching}>
          <thead>
            <tr><th scope="col">Name</th><th scope="col" className="num">Version</th><th scope="col" className="num">Rows</th>
              <th scope="col" className="num">Columns</th><th scope="col" className="num">Size</th><th scope="col">Updated</th></tr>
          </thead>
          <tbody>
            {data?.items.map((d) => (
              <tr key={d.id}>
                <td><Link to={`/datasets/${d.id}`}>{d.name}</Link></td>
                <td className="num">{d.latest?.version ?? '–'}</td>
                <td className="num">{d.latest?.num_rows.toLocaleString() ?? '–'}</td>
                <td className="num">{d.latest?.columns.length ?? '–'}</td>
                <td className="num">{d.latest ? size(d.latest.num_bytes) : '–'}</td>
                <td>{new Date(d.updated_at).toLocaleString()}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {data && <p className="muted">{data.total} dataset(s)</p>}
    </section>
  );
}
