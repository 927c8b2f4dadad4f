import { useEffect, useState, type ReactNode } from 'react';
import { NavLink } from 'react-router';
import { isAdmin } from '../auth/authSlice';
import { logout } from '../auth/session';
import { useAppDispatch, useAppSelector } from '../hooks';
import { OfflineBanner } from '../offline/OfflineBanner';
import { applyTheme, storedTheme, systemTheme, type Theme } from './theme';

const PAGES: { to: string; label: string; admin?: boolean }[] = [
  { to: '/', label: 'Overview' },
  { to: '/datasets', label: 'Datasets' },
  { to: '/pipelines', label: 'Pipelines' },
  { to: '/dashboards', label: 'Dashboards' },
  { to: '/analytics', label: 'Analytics' },
  { to: '/models', label: 'Models' },
  { to: '/nlp', label: 'NLP' },
  { to: '/jobs', label: 'Jobs' },
  { to: '/schedules', label: 'Schedules' },
  { to: '/admin', label: 'Admin', admin: true },
];

export function Layout({ children }: { children: ReactNode }) {
  const dispatch = useAppDispatch();
  const user = useAppSelector((s) => s.auth.user);
  const token = useAppSelector((s) => s.auth.accessToken);
  const connected = useAppSelector((s) => s.live.connected);
  const [open, setOpen] = useState(false);
  const [theme, setTheme] = useState<Theme>(() => storedTheme() ?? systemTheme());
  useEffect(() => {
    // Follow the OS preference live unless the user chose a theme.
    const media = typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)') : null;
    const follow = () => { if (!storedTheme()) setTheme(applyTheme(null)); };
    media?.addEventListener('change', follow);
    return () => media?.removeEventListener('change', follow);
  }, []);
  const toggleTheme = () => setTheme(applyTheme(theme === 'dark' ? 'light' : 'dark'));
  const pages = PAGES.filter((p) => !p.admin || isAdmin(user?.role));

  return (
    <div className="shell">
      <a className="skip" href="#main">Skip to content</a>
      <header className="topbar">
        <button className="menu" aria-expanded={open} aria-controls="nav"
                onClick={() => setOpen(!open)}>Menu</button>
        <span className="brand">Helio</span>
        <span className={connected ? 'dot live' : 'dot'} title={connected ? 'Live' : 'Not live'}
              aria-label={connected ? 'Live updates on' : 'Live updates off'} />
        <span className="who">{user?.email} · <strong>{user?.role}</strong></span>
        <button className="ghost" onClick={toggleTheme} aria-pressed={theme === 'dark'}
                aria-label={theme === 'dark' ? 'Use the light theme' : 'Use the dark theme'}>
          {theme === 'dark' ? '☀ Light' : '☾ Dark'}
        </button>
        <button className="ghost" onClick={() => void logout(dispatch, token)}>Sign out</button>
      </header>
      <OfflineBanner />
      <nav id="nav" aria-label="Main" className={open ? 'nav open' : 'nav'}>
        {pages.map((p) => (
          <NavLink key={p.to} to={p.to} end={p.to === '/'} onClick={() => setOpen(false)}>
            {p.label}
          </NavLink>
        ))}
      </nav>
      <main id="main" tabIndex={-1}>{children}</main>
    </div>
  );
}
