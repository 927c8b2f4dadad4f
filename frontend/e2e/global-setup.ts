import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { helioBin, ROOT, STATE, type E2eState } from './helio';

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

async function api(url: string, path: string, init: RequestInit & { token?: string } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.token) headers.set('Authorization', `Bearer ${init.token}`);
  return fetch(`${url}${path}`, { ...init, headers });
}

export default async function globalSetup(): Promise<void> {
  const chromium = process.env.HELIO_CHROMIUM ?? '/usr/lib/chromium/chromium';
  if (!existsSync(chromium)) {
    throw new Error(`chromium not found at ${chromium}: apt-get install -y chromium`);
  }
  if (!existsSync(join(ROOT, 'frontend', 'dist', 'index.html'))) {
    throw new Error('frontend/dist is missing: run `npm run build` first');
  }
  const home = mkdtempSync(join(tmpdir(), 'helio-e2e-'));
  const port = await freePort();
  const admin = { email: 'admin@example.com', password: 'e2e-admin-password' };
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    HELIO_HOME: home, HELIO_PORT: String(port), HELIO_HAPROXY: process.env.HELIO_E2E_HAPROXY ?? 'auto',
    HELIO_DASHBOARD_PORT: String(await freePort()), HELIO_METRICS_EXPORT_PORT: String(await freePort()),
    HELIO_RAY_PORT: String(await freePort()), HELIO_ADMIN_EMAIL: admin.email,
    HELIO_ADMIN_PASSWORD: admin.password,
  };
  for (const key of ['HELIO_DATABASE_URL', 'HELIO_REDIS_URL', 'RAY_ADDRESS', 'HELIO_RAY_ADDRESS']) delete env[key];
  execFileSync(helioBin(), ['up', '--detach'], { env, stdio: 'inherit', timeout: 300_000 });
  const url = `http://127.0.0.1:${port}`;

  // Seed: one user per role, through the API.
  const form = new URLSearchParams({ username: admin.email, password: admin.password });
  const login = await api(url, '/api/v1/auth/token', { method: 'POST', body: form });
  if (!login.ok) throw new Error(`admin login failed: ${login.status} ${await login.text()}`);
  const { access_token: token } = (await login.json()) as { access_token: string };
  const users: E2eState['users'] = { admin, analyst: { email: 'analyst@example.com', password: 'e2e-analyst-pw' },
    viewer: { email: 'viewer@example.com', password: 'e2e-viewer-pw' } };
  for (const role of ['analyst', 'viewer'] as const) {
    const created = await api(url, '/api/v1/users', {
      method: 'POST', token, headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ ...users[role], role }),
    });
    if (!created.ok) throw new Error(`creating ${role} failed: ${created.status} ${await created.text()}`);
  }
  mkdirSync(dirname(STATE), { recursive: true });
  writeFileSync(STATE, JSON.stringify({ url, env, users } satisfies E2eState));
  process.env.HELIO_E2E_URL = url;
}
