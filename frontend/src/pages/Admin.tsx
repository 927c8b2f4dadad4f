import { useState, type FormEvent } from 'react';
import { api, type RateLimitPlanItem, type Role } from '../api';
import { ErrorText } from '../components/ErrorText';
import { usePageTitle } from '../components/usePageTitle';
import { useAppSelector } from '../hooks';

const ROLES: Role[] = ['admin', 'analyst', 'viewer', 'app'];

/** Set a new password for a user; the API applies the password policy (12+ characters,
 * not a common password, not the email). */
function ResetPassword({ id, email }: { id: string; email: string }) {
  const [patch, { error, isLoading, isSuccess, reset }] = api.usePatchApiV1UsersByUserIdMutation();
  const [open, setOpen] = useState(false);
  const [password, setPassword] = useState('');
  if (!open) return <button className="secondary small" onClick={() => { reset(); setOpen(true); }}>Reset password</button>;
  return (
    <form className="row" aria-label={`Reset the password of ${email}`} onSubmit={(e) => {
      e.preventDefault();
      void patch({ userId: id, userUpdate: { password } }).unwrap().then(() => { setPassword(''); setOpen(false); }).catch(() => undefined);
    }}>
      <label>New password for {email}<input type="password" autoComplete="new-password" required minLength={12} value={password}
                                            onChange={(e) => setPassword(e.target.value)} /></label>
      <button type="submit" className="small" disabled={isLoading}>{isLoading ? 'Saving…' : 'Set'}</button>
      <button type="button" className="ghost small" onClick={() => setOpen(false)}>Cancel</button>
      <ErrorText error={error} />
      {isSuccess && <span role="status">Password changed</span>}
    </form>
  );
}

function Users() {
  const me = useAppSelector((st) => st.auth.user);
  const { data, error } = api.useGetApiV1UsersQuery({ limit: 200 });
  const [create, { error: createError, isLoading: creating }] = api.usePostApiV1UsersMutation();
  const [patch, { error: patchError }] = api.usePatchApiV1UsersByUserIdMutation();
  const [remove, { error: removeError }] = api.useDeleteApiV1UsersByUserIdMutation();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [note, setNote] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setNote('');
    void create({ userCreate: { email, password, role } }).unwrap()
      .then((u) => { setEmail(''); setPassword(''); setNote(`Created ${u.email}`); }).catch(() => undefined);
  };
  return (
    <div className="card">
      <h2>Users and roles</h2>
      <form className="row" onSubmit={submit} aria-label="Create a user">
        <label>Email<input type="email" required value={email} onChange={(e) => setEmail(e.target.value)} /></label>
        <label>Password <span className="muted">(12+ characters, not a common one)</span>
          <input type="password" autoComplete="new-password" required minLength={12} value={password}
                 onChange={(e) => setPassword(e.target.value)} /></label>
        <label>Role<select value={role} onChange={(e) => setRole(e.target.value as Role)}>
          {ROLES.filter((r) => r !== 'app').map((r) => <option key={r}>{r}</option>)}</select></label>
        <button type="submit" disabled={creating}>{creating ? 'Creating…' : 'Create user'}</button>
      </form>
      <ErrorText error={error ?? createError ?? patchError ?? removeError} />
      {note && <p role="status">{note}</p>}
      <div className="table-wrap">
        <table>
          <thead><tr><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Active</th><th scope="col">Actions</th></tr></thead>
          <tbody>
            {data?.items.map((u) => (
              <tr key={u.id}>
                <td>{u.email}{u.id === me?.id && <span className="badge">you</span>}</td>
                <td>
                  <select aria-label={`Role of ${u.email}`} value={u.role}
                          onChange={(e) => void patch({ userId: u.id, userUpdate: { role: e.target.value as Role } })}>
                    {ROLES.filter((r) => r !== 'app').map((r) => <option key={r}>{r}</option>)}
                  </select>
                </td>
                <td>
                  <input type="checkbox" aria-label={`${u.email} active`} checked={u.is_active}
                         onChange={(e) => void patch({ userId: u.id, userUpdate: { is_active: e.target.checked } })} />
                </td>
                <td className="actions">
                  <ResetPassword id={u.id} email={u.email} />
                  {u.id !== me?.id && (
                    <button className="danger small" aria-label={`Delete ${u.email}`} onClick={() => {
                      if (window.confirm(`Delete ${u.email}? Their API keys stop working; what they own stays.`)) {
                        setNote('');
                        void remove({ userId: u.id }).unwrap().then(() => setNote(`Deleted ${u.email}`)).catch(() => undefined);
                      }
                    }}>Delete</button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

/** Copy to the clipboard, saying so; where the browser refuses, select the text instead. */
function CopyButton({ text, label }: { text: string; label: string }) {
  const [copied, setCopied] = useState<'' | 'yes' | 'no'>('');
  return (
    <button type="button" className="secondary small" aria-label={label} onClick={() => {
      navigator.clipboard.writeText(text).then(() => setCopied('yes'), () => setCopied('no'));
    }}>{copied === 'yes' ? 'Copied ✓' : copied === 'no' ? 'Select and copy it' : 'Copy'}</button>
  );
}

function ApiKeys() {
  const { data } = api.useGetApiV1ApiKeysQuery({ limit: 200 });
  const [create, { data: created, error, isLoading }] = api.usePostApiV1ApiKeysMutation();
  const [revoke] = api.useDeleteApiV1ApiKeysByKeyIdMutation();
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('app');
  return (
    <div className="card">
      <h2>API keys</h2>
      <form className="row" aria-label="Create an API key" onSubmit={(e) => {
        e.preventDefault();
        void create({ apiKeyCreate: { name, role } });
      }}>
        <label>Name<input required value={name} onChange={(e) => setName(e.target.value)} /></label>
        <label>Role<select value={role} onChange={(e) => setRole(e.target.value as Role)}>
          {ROLES.map((r) => <option key={r}>{r}</option>)}</select></label>
        <button type="submit" disabled={isLoading}>{isLoading ? 'Creating…' : 'Create key'}</button>
      </form>
      <ErrorText error={error} />
      {created && (
        <p role="status" className="notice">New key “{created.name}” (shown once, store it now): <code className="secret">{created.key}</code>{' '}
          <CopyButton text={created.key} label="Copy the new key" /></p>
      )}
      <ul className="list">
        {data?.items.map((k) => (
          <li key={k.id}>
            <strong>{k.name}</strong> <code>{k.prefix}…</code> {k.role}
            {k.revoked_at ? <span className="muted"> revoked</span>
              : <button className="danger" onClick={() => void revoke({ keyId: k.id })}>Revoke</button>}
          </li>
        ))}
      </ul>
    </div>
  );
}

function RateLimits() {
  const { data } = api.useGetApiV1RateLimitsQuery();
  const [save, { error, isSuccess }] = api.usePutApiV1RateLimitsMutation();
  const [edits, setEdits] = useState<Record<string, RateLimitPlanItem>>({});
  const items = (data?.items ?? []).map((p) => edits[`${p.role}:${p.route_class}`] ?? p);
  const set = (p: RateLimitPlanItem, patch: Partial<RateLimitPlanItem>) =>
    setEdits({ ...edits, [`${p.role}:${p.route_class}`]: { ...p, ...patch } });
  return (
    <form className="card" aria-label="Rate-limit plans" onSubmit={(e) => {
      e.preventDefault();
      void save({ rateLimitPlans: { items } });
    }}>
      <h2>Rate-limit plans</h2>
      <div className="table-wrap">
        <table>
          <thead><tr><th scope="col">Role</th><th scope="col">Class</th><th scope="col">Per minute</th><th scope="col">Burst</th></tr></thead>
          <tbody>
            {items.map((p) => (
              <tr key={`${p.role}:${p.route_class}`}>
                <td>{p.role}</td><td>{p.route_class}</td>
                <td><input type="number" min={1} aria-label={`${p.role} ${p.route_class} per minute`}
                           value={p.requests_per_minute} onChange={(e) => set(p, { requests_per_minute: Number(e.target.value) })} /></td>
                <td><input type="number" min={1} aria-label={`${p.role} ${p.route_class} burst`}
                           value={p.burst} onChange={(e) => set(p, { burst: Number(e.target.value) })} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <ErrorText error={error} />
      {isSuccess && <p role="status">Saved</p>}
      <button type="submit">Save plans</button>
    </form>
  );
}

function Usage() {
  const { data } = api.useGetApiV1UsageQuery({ limit: 500 });
  // The hourly rows of the last 24 h, summed per user / API key.
  const totals = new Map<string, { who: string; requests: number; errors: number; limited: number; latency: number }>();
  for (const row of data?.items ?? []) {
    const id = `${row.user_id}:${row.api_key_id ?? 'jwt'}`;
    const who = row.api_key_name ? `key “${row.api_key_name}” (${row.email ?? row.user_id})` : row.email ?? row.user_id;
    const entry = totals.get(id) ?? { who, requests: 0, errors: 0, limited: 0, latency: 0 };
    entry.requests += row.requests;
    entry.errors += row.errors;
    entry.limited += row.rate_limited;
    entry.latency += row.mean_latency_ms * row.requests;
    totals.set(id, entry);
  }
  const rows = [...totals.values()].sort((a, b) => b.requests - a.requests);
  return (
    <div className="card">
      <h2>Usage (last 24 hours)</h2>
      <div className="table-wrap">
        <table>
          <thead><tr><th scope="col">User or API key</th><th scope="col">Requests</th><th scope="col">Errors</th>
            <th scope="col">Rate-limited</th><th scope="col">Mean latency</th></tr></thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.who}><td>{r.who}</td><td>{r.requests}</td><td>{r.errors}</td><td>{r.limited}</td>
                <td>{r.requests ? (r.latency / r.requests).toFixed(1) : '–'} ms</td></tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

const AUDIT_EVERY_S = 5;

/** The newest audit entries, refreshed every few seconds (and on demand), filterable by
 * action. */
function Audit() {
  const [action, setAction] = useState('');
  const { data, error, isFetching, refetch, fulfilledTimeStamp } = api.useGetApiV1AuditQuery(
    { limit: 50, action: action || undefined }, { pollingInterval: AUDIT_EVERY_S * 1000, skipPollingIfUnfocused: true });
  return (
    <div className="card">
      <div className="page-head">
        <h2>Audit log</h2>
        <div className="actions">
          <label>Action<input value={action} placeholder="e.g. user.delete" onChange={(e) => setAction(e.target.value.trim())} /></label>
          <button className="secondary small" onClick={() => void refetch()} disabled={isFetching}>{isFetching ? 'Refreshing…' : 'Refresh'}</button>
        </div>
      </div>
      <p className="muted" aria-live="polite">Live: refreshed every {AUDIT_EVERY_S} s{fulfilledTimeStamp ? ` · last at ${new Date(fulfilledTimeStamp).toLocaleTimeString()}` : ''}</p>
      <ErrorText error={error} />
      <div className="table-wrap">
        <table aria-label="Audit entries">
          <thead><tr><th scope="col">When</th><th scope="col">Action</th><th scope="col">Who</th><th scope="col">Target</th><th scope="col">OK</th></tr></thead>
          <tbody>
            {data?.items.map((a) => (
              <tr key={a.id}><td>{new Date(a.at).toLocaleString()}</td><td>{a.action}</td>
                <td>{a.actor_email ?? a.actor_id ?? '–'}</td><td>{a.target ?? '–'}</td>
                <td>{a.success ? <span className="badge ok">yes</span> : <span className="badge bad">no</span>}</td></tr>
            ))}
          </tbody>
        </table>
      </div>
      {data?.items.length === 0 && <p className="empty">No entries{action ? ` for “${action}”` : ''} yet.</p>}
    </div>
  );
}

export default function Admin() {
  usePageTitle('Admin');
  return (
    <section aria-labelledby="admin-title">
      <h1 id="admin-title">Admin</h1>
      <Users />
      <ApiKeys />
      <RateLimits />
      <Usage />
      <Audit />
    </section>
  );
}
