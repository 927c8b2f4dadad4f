import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { api } from '../api';
import { uploadDataset } from '../api/upload';
import { canWrite, tokenReceived } from '../auth/authSlice';
import { ErrorText } from '../components/ErrorText';
import { useAppDispatch, useAppSelector } from '../hooks';

const size = (b: number): string =>
  b > 2 ** 30 ? `${(b / 2 ** 30).toFixed(1)} GB` : b > 2 ** 20 ? `${(b / 2 ** 20).toFixed(1)} MB` : `${(b / 1024).toFixed(1)} kB`;

function Upload() {
  const dispatch = useAppDispatch();
  const token = useAppSelector((s) => s.auth.accessToken);
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState('');
  const [progress, setProgress] = useState<number | null>(null);
  const [message, setMessage] = useState('');
  const [error, setError] = useState('');

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!file) return;
    setError('');
    setMessage('');
    setProgress(0);
    try {
      const result = await uploadDataset(file, name, token, setProgress,
                                         (t) => dispatch(tokenReceived(t)));
      const body = result.body as { name?: string; detail?: string; errors?: { loc: string[]; msg: string }[] };
      if (result.status === 201) {
        setMessage(`Uploaded "${body.name ?? name}"`);
        dispatch(api.util.invalidateTags(['datasets']));
      } else {
        const fields = (body.errors ?? []).map((e) => `${e.loc.slice(1).join('.')}: ${e.msg}`);
        setError([body.detail ?? `Upload failed (${result.status})`, ...fields].join(' — '));
      }
    } catch (e) {
      setError(e instanceof Error ? e.message : 'Upload failed');
    } finally {
      setProgress(null);
    }
  };

  return (
    <form className="card row" onSubmit={(e) => void submit(e)} aria-label="Upload a dataset">
      <label>
        File (CSV, JSON Lines, Parquet)
        <input type="file" required accept=".csv,.jsonl,.json,.parquet,.txt"
               onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
      </label>
      <label>
        Name
        <input value={name} placeholder="default: the file name" onChange={(e) => setName(e.target.value)} />
      </label>
      <button type="submit" disabled={!file || progress !== null}>Upload</button>
      {progress !== null && (
        <progress max={1} value={progress} aria-label="Upload progress">{Math.round(progress * 100)}%</progress>
      )}
      {message && <p role="status">{message}</p>}
      {error && <p role="alert" className="error">{error}</p>}
    </form>
  );
}

export default function Datasets() {
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
      <div className="table-wrap">
        <table aria-busy={isFetching}>
          <thead>
            <tr><th scope="col">Name</th><th scope="col">Version</th><th scope="col">Rows</th>
              <th scope="col">Columns</th><th scope="col">Size</th><th scope="col">Updated</th></tr>
          </thead>
          <tbody>
            {data?.items.map((d) => (
              <tr key={d.id}>
                <td><Link to={`/datasets/${d.id}`}>{d.name}</Link></td>
                <td>{d.latest?.version ?? '–'}</td>
                <td>{d.latest?.num_rows.toLocaleString() ?? '–'}</td>
                <td>{d.latest?.columns.length ?? '–'}</td>
                <td>{d.latest ? size(d.latest.num_bytes) : '–'}</td>
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
