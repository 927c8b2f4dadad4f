import { expect, test, type Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, state } from './helio';

const SHOTS = join(ROOT, 'frontend', 'screenshots');
const WIDTHS = [375, 1440] as const;
const CSV = ['day,city,sales', '2024-01-01,Oslo,3', '2024-01-01,Rome,5', '2024-01-02,Oslo,4',
  '2024-01-02,Rome,7', '2024-01-03,Lima,2'].join('\n');

/** Console errors and uncaught exceptions while online: the suite fails on any. */
function watchConsole(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(String(e)));
  return errors;
}

async function signIn(page: Page, role: 'admin' | 'analyst' | 'viewer') {
  const { url, users } = state();
  await page.goto(url);
  await page.getByLabel('Email').fill(users[role].email);
  await page.getByLabel('Password').fill(users[role].password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Overview' })).toBeVisible();
}

async function nav(page: Page, name: string) {
  const menu = page.getByRole('button', { name: 'Menu' });
  if (await menu.isVisible()) await menu.click();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name }).click();
}

async function shoot(page: Page, name: string) {
  mkdirSync(SHOTS, { recursive: true });
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(SHOTS, `${name}-${width}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1440, height: 900 });
}

test.describe.configure({ mode: 'serial' });

test('each role sees its own navigation and actions', async ({ page }) => {
  const errors = watchConsole(page);
  await signIn(page, 'viewer');
  const main = page.getByRole('navigation', { name: 'Main' });
  await expect(main.getByRole('link', { name: 'Datasets' })).toBeVisible();
  await expect(main.getByRole('link', { name: 'Admin' })).toHaveCount(0);
  await nav(page, 'Datasets');
  await expect(page.getByRole('heading', { name: 'Datasets' })).toBeVisible();
  await expect(page.getByRole('form', { name: 'Upload a dataset' })).toHaveCount(0);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('heading', { name: 'Sign in to Helio' })).toBeVisible();
  await shoot(page, 'login');

  await signIn(page, 'admin');
  await expect(main.getByRole('link', { name: 'Admin' })).toBeVisible();
  await nav(page, 'Admin');
  await expect(page.getByRole('heading', { name: 'Users and roles' })).toBeVisible();
  await expect(page.getByRole('combobox', { name: 'Role of viewer@example.com' })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Usage (last 24 hours)' })).toBeVisible();
  await shoot(page, 'admin');
  await page.getByRole('button', { name: 'Sign out' }).click();
  expect(errors).toEqual([]);
});

test('an analyst uploads, transforms, charts and watches the platform live', async ({ page }) => {
  const errors = watchConsole(page);
  await signIn(page, 'analyst');
  await shoot(page, 'overview');

  // Upload a CSV and see its preview.
  await nav(page, 'Datasets');
  await page.getByLabel('File (CSV, JSON Lines, Parquet)').setInputFiles({
    name: 'sales.csv', mimeType: 'text/csv', buffer: Buffer.from(CSV) });
  await page.getByLabel('Name', { exact: true }).fill('sales');
  await page.getByRole('button', { name: 'Upload' }).click();
  await expect(page.getByRole('status')).toContainText('Uploaded "sales"');
  await page.getByRole('link', { name: 'sales', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'sales' })).toBeVisible();
  await expect(page.getByRole('region', { name: /First 5 of 5 rows/ })).toContainText('Rome');
  await page.getByRole('button', { name: 'Profile' }).click();
  await expect(page.getByTestId('job-status')).toHaveText('succeeded', { timeout: 120_000 });
  await page.reload();
  await expect(page.getByRole('heading', { name: 'Profile' })).toBeVisible();
  await shoot(page, 'dataset');

  // A pipeline, run, with live progress to 100%.
  await nav(page, 'Pipelines');
  await page.getByLabel('Name', { exact: true }).fill('sales-by-city');
  await page.getByLabel(/^Source dataset/).selectOption('sales');
  await page.getByLabel('Output dataset').fill('sales_by_city');
  await page.getByLabel(/^Step 1 operation/).selectOption('aggregate');
  await page.getByLabel('Group by (comma separated)').fill('city');
  await page.getByLabel('Aggregations, e.g. count, sum:amount').fill('count, sum:sales');
  await page.getByRole('tab', { name: 'YAML' }).click();
  await expect(page.getByLabel('Spec as YAML')).toContainText('op: aggregate');
  await page.getByRole('button', { name: 'Save and run' }).click();
  await expect(page.getByTestId('job-status')).toHaveText('succeeded', { timeout: 150_000 });
  await expect(page.getByTestId('job-progress')).toContainText('100%');
  await shoot(page, 'pipelines');

  // A chart from the query builder, saved to a dashboard.
  await nav(page, 'Analytics');
  await expect(page.getByRole('heading', { name: 'Analytics' })).toBeVisible();
  // A label wrapping a select also names it by the chosen option: match the start.
  await page.getByLabel(/^Dataset/).selectOption({ label: 'sales' });
  await page.getByLabel(/^Group by/).selectOption('city');
  await page.getByLabel(/^Aggregation/).selectOption('sum');
  await page.getByLabel(/^Of column/).selectOption('sales');
  await page.getByRole('button', { name: 'Run query' }).click();
  await expect(page.getByRole('img', { name: /bar chart of sales_sum by city/ })).toBeVisible();
  await page.getByLabel('Chart title').fill('Sales by city');
  await page.getByRole('button', { name: 'Save chart' }).click();
  await expect(page.getByRole('article', { name: 'Dashboard Sales by city' })).toBeVisible();
  await shoot(page, 'analytics');

  for (const [name, heading] of [['Models', 'Models'], ['NLP', 'NLP'], ['Jobs', 'Jobs']] as const) {
    await nav(page, name);
    await expect(page.getByRole('heading', { name: heading, exact: true })).toBeVisible();
    await shoot(page, name.toLowerCase());
  }

  // The Overview's requests/s moves under generated load.
  await nav(page, 'Overview');
  const { url } = state();
  const load = (async () => {
    for (let i = 0; i < 200; i += 1) await fetch(`${url}/api/v1/health`);
  })();
  await expect(page.getByTestId('stat-rps')).not.toContainText(/^(–|0\.0)/, { timeout: 30_000 });
  await load;
  expect(errors).toEqual([]);
});

test('offline: the cached dashboard stays readable and a queued edit is saved on reconnect', async ({ page, context }) => {
  const { url, users } = state();
  await signIn(page, 'analyst');
  await nav(page, 'Analytics');
  const board = page.getByRole('article', { name: 'Dashboard Sales by city' });
  await expect(board.getByRole('img', { name: /Sales by city/ })).toBeVisible();
  await page.waitForTimeout(2000); // the cache is written to IndexedDB (debounced)
  await page.evaluate(async () => navigator.serviceWorker.ready);

  await context.setOffline(true);
  await page.reload();
  await expect(page.getByRole('status').filter({ hasText: 'You are offline' })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Analytics' })).toBeVisible();
  await expect(board).toBeVisible();
  await expect(board.getByRole('img', { name: /Sales by city/ })).toBeVisible();
  await shoot(page, 'offline');
  await board.getByLabel('Dashboard name').fill('Sales (edited offline)');
  await board.getByRole('button', { name: 'Rename' }).click();
  await expect(page.getByText('Offline: the edit is queued')).toBeVisible();

  await context.setOffline(false);
  await expect(page.getByRole('status').filter({ hasText: 'You are offline' })).toHaveCount(0, { timeout: 30_000 });
  await expect.poll(async () => {
    const form = new URLSearchParams({ username: users.analyst.email, password: users.analyst.password });
    const login = await fetch(`${url}/api/v1/auth/token`, { method: 'POST', body: form });
    const { access_token: token } = (await login.json()) as { access_token: string };
    const boards = await fetch(`${url}/api/v1/dashboards`, { headers: { Authorization: `Bearer ${token}` } });
    return ((await boards.json()) as { items: { name: string }[] }).items.map((b) => b.name);
  }, { timeout: 30_000 }).toContain('Sales (edited offline)');
});
