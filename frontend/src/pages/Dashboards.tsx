import { useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { api, problemMessage } from '../api';
import { canWrite } from '../auth/authSlice';
import { ErrorText } from '../components/ErrorText';
import { usePageTitle } from '../components/usePageTitle';
import { useAppDispatch, useAppSelector } from '../hooks';
import { outbox } from '../offline/outbox';

export default function Dashboards() {
  usePageTitle('Dashboards');
  const dispatch = useAppDispatch();
  const role = useAppSelector((s) => s.auth.user?.role);
  const conflicts = useAppSelector((s) => s.outbox.conflicts);
  const { data, error, isLoading } = api.useGetApiV1DashboardsQuery({ limit: 100 });
  const [create, { isLoading: creating }] = api.usePostApiV1DashboardsMutation();
  const [name, setName] = useState('');
  const [createError, setCreateError] = useState('');
  const navigate = useNavigate();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setCreateError('');
    try {
      const board = await create({ dashboardCreate: { name, charts: [] } }).unwrap();
      void navigate(`/dashboards/${board.id}`);
    } catch (e) {
      setCreateError(problemMessage(e as Parameters<typeof problemMessage>[0]));
    }
  };
  return (
    <section aria-labelledby="dashboards-title">
      <h1 id="dashboards-title">Dashboards</h1>
      {conflicts.map((c) => (
        <div key={c.id} role="alert" className="banner conflict">
          An offline edit of “{c.name}” was not saved: {c.message}.
          {c.current && ` The dashboard is now “${c.current.name}” (version ${c.current.version}).`}
          {' '}Your edit had {c.charts.length} chart(s).
          <button className="secondary" onClick={() => dispatch(outbox.conflictDismissed(c.id))}>Dismiss</button>
        </div>
      ))}
      {canWrite(role) && (
        <form className="card row" onSubmit={(e) => void submit(e)} aria-label="New dashboard">
          <label>New dashboard name<input required value={name} onChange={(e) => setName(e.target.value)} /></label>
          <button type="submit" disabled={creating || !name.trim()}>{creating ? 'Creating…' : 'Create dashboard'}</button>
          {createError && <p role="alert" className="error">{createError}</p>}
        </form>
      )}
      <ErrorText error={error} />
      {isLoading && <p className="loading">Loading…</p>}
      {data?.items.length === 0 && (
        <p className="empty">No dashboards yet. {canWrite(role) ? 'Create one above, or save a chart from ' : 'An analyst can build one in '}
          <Link to="/analytics">Analytics</Link>.</p>
      )}
      <ul className="tiles">
        {data?.items.map((d) => (
          <li key={d.id} className="tile">
            <Link to={`/dashboards/${d.id}`}><strong>{d.name}</strong></Link>
            <span className="muted">{d.charts.length} chart(s) · updated {new Date(d.updated_at).toLocaleString()}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}
