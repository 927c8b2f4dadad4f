import { expect, test, type Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, state } from './helio';

const SHOTS = join(ROOT, 'frontend', 'screenshots');
const WIDTHS = [375, 1440] as const;
// Monthly sales with a zip code whose leading zeros must survive the upload.
const CSV = ['day,city,sales,zip', '2024-01-05,Oslo,3,01067', '2024-01-20,Rome,5,00184',
  '2024-02-03,Oslo,4,01067', '2024-02-14,Rome,7,00184', '2024-03-09,Lima,2,15001',
  '2024-03-21,Oslo,6,01067'].join('\n');

/** Console errors and uncaught exceptions while online: the suite fails on any, except a
 * failed request to one of `expected` (a 422 the test provokes on purpose). */
function watchConsole(page: Page, expected: string[] = []): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !expected.some((path) => m.location().url.endsWith(path))) errors.push(m.text());
  });
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

/** Every page at phone and desktop width, in the light and the dark theme (the OS
 * preference, which the dashboard follows unless the user picked a theme). */
async function shoot(page: Page, name: string) {
  mkdirSync(SHOTS, { recursive: true });
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: 900 });
      await page.waitForTimeout(300);
      await page.screenshot({ path: join(SHOTS, `${name}-${width}-${colorScheme}.png`), fullPage: true });
    }
  }
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize({ width: 1440, height: 900 });
}

// One sign-in per role for the API checks (polls would otherwise trip the login limit).
const tokens = new Map<string, string>();

async function apiAs(role: 'admin' | 'analyst' | 'viewer', path: string): Promise<unknown> {
  const { url, users } = state();
  let token = tokens.get(role);
  if (!token) {
    const form = new URLSearchParams({ username: users[role].email, password: users[role].password });
    const login = await fetch(`${url}/api/v1/auth/token`, { method: 'POST', body: form });
    token = ((await login.json()) as { access_token: string }).access_token;
    tokens.set(role, token);
  }
  const response = await fetch(`${url}/api/v1${path}`, { headers: { Authorization: `Bearer ${token}` } });
  return response.json();
}

type Board = { id: string; name: string; charts: { title: string; layout?: { x: number; y: number; w: number; h: number } }[] };
const boards = async () => ((await apiAs('analyst', '/dashboards')) as { items: Board[] }).items;

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
  await page.getByRole('button', { name: 'Sign out' }).click();
  expect(errors).toEqual([]);
});

test('an analyst uploads, transforms, charts and watches the platform live', async ({ page }) => {
  // The pipeline form checks the spec as it is built: a half-built step is a 422 from
  // /pipelines/validate whenever the 400 ms debounce fires between two actions.
  const errors = watchConsole(page, ['/api/v1/pipelines/validate']);
  await signIn(page, 'analyst');
  await shoot(page, 'overview');

  // Upload a CSV: the inspector flags the zip code's leading zeros; keep it as text.
  await nav(page, 'Datasets');
  await page.getByLabel('File (CSV, JSON Lines, Parquet)').setInputFiles({
    name: 'sales.csv', mimeType: 'text/csv', buffer: Buffer.from(CSV) });
  const types = page.getByRole('region', { name: 'Column types' });
  await expect(types.getByRole('combobox', { name: 'Type of day' })).toContainText('date (inferred)');
  await expect(types.getByRole('note')).toContainText('zip');
  await types.getByRole('button', { name: 'Keep zip as text' }).click();
  await expect(types.getByRole('combobox', { name: 'Type of zip' })).toHaveValue('string');
  await expect(types).toContainText('01067');
  await page.getByLabel('Name', { exact: true }).fill('sales');
  await page.getByRole('button', { name: 'Upload' }).click();
  await expect(page.getByRole('status')).toContainText('Uploaded "sales"');
  await shoot(page, 'datasets');
  await page.getByRole('link', { name: 'sales', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'sales' })).toBeVisible();
  await expect(page).toHaveTitle(/sales/);
  await expect(page.getByRole('region', { name: /First 6 of 6 rows/ })).toContainText('01067');
  await page.getByRole('button', { name: 'Profile' }).click();
  await expect(page.getByTestId('job-status')).toHaveText('succeeded', { timeout: 120_000 });
  await page.reload();
  await expect(page.getByRole('heading', { name: 'Profile' })).toBeVisible();
  await expect(page.getByRole('region', { name: 'Profile of sales' })).toContainText(/Mean\s*4\.5/);
  await shoot(page, 'dataset');

  // A pipeline from the form (column pickers fed by the schema), checked live, run to 100%.
  await nav(page, 'Pipelines');
  await expect(page).toHaveTitle('Pipelines · Helio');
  const form = page.getByRole('form', { name: 'Build a pipeline' });
  await form.getByLabel('Name', { exact: true }).fill('sales-by-city');
  await form.getByLabel(/^Source dataset/).selectOption('sales');
  await form.getByLabel('Output dataset').fill('sales_by_city');
  await form.getByRole('button', { name: 'Add step' }).click();
  await form.getByLabel(/^Step 1 operation/).selectOption('aggregate');
  const step = form.getByRole('group', { name: 'Step 1' });
  await step.getByRole('group', { name: 'Group by' }).getByLabel(/^city/).check();
  await step.getByRole('button', { name: 'Add aggregation' }).click();
  await step.getByLabel(/^Of column 2/).selectOption('sales');
  await expect(form.getByRole('status', { name: 'Check' })).toContainText('Valid · 3 output column(s)');
  await expect(form.getByLabel('Spec as YAML')).toHaveValue(/op: aggregate/);
  await form.getByRole('button', { name: 'Save and run' }).click();
  await expect(page.getByTestId('job-status')).toHaveText('succeeded', { timeout: 150_000 });
  await expect(page.getByTestId('job-progress')).toContainText('100%');
  await shoot(page, 'pipelines');

  // A monthly time series (group by a date with the month bucket), saved to a new dashboard.
  await nav(page, 'Analytics');
  await expect(page.getByRole('heading', { name: 'Analytics' })).toBeVisible();
  const builder = page.getByRole('form', { name: 'Query builder' });
  // A label wrapping a select also names it by the chosen option: match the start.
  await builder.getByLabel(/^Dataset/).selectOption({ label: 'sales' });
  await builder.getByLabel(/^Group by/).selectOption('day');
  await builder.getByLabel(/^Time bucket/).selectOption('month');
  await builder.getByLabel(/^Aggregation/).selectOption('sum');
  await builder.getByLabel(/^Of column/).selectOption('sales');
  await builder.getByLabel(/^Label/).fill('Sales');
  await builder.getByRole('combobox', { name: /^Chart/ }).selectOption('line');
  await builder.getByLabel('Chart title').fill('Sales by month');
  await page.getByRole('button', { name: 'Run query' }).click();
  const line = page.getByRole('img', { name: /Sales by month: line chart of sales_sum by day_month/ });
  await expect(line).toBeVisible();
  await expect(line).toContainText('Jan 2024');
  await page.getByLabel('New dashboard name').fill('Sales board');
  await page.getByRole('button', { name: 'Save chart' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Saved to the new dashboard “Sales board”' })).toBeVisible();
  await shoot(page, 'analytics');

  // Two more charts on the same dashboard: sales by city (bar) and the total (big number).
  await builder.getByLabel(/^Group by/).selectOption('city');
  await builder.getByRole('combobox', { name: /^Chart/ }).selectOption('bar');
  await builder.getByLabel('Chart title').fill('Sales by city');
  await page.getByRole('button', { name: 'Run query' }).click();
  await expect(page.getByRole('img', { name: /Sales by city: bar chart/ })).toBeVisible();
  await page.getByLabel(/^Save to/).selectOption({ label: 'Sales board' });
  await page.getByRole('button', { name: 'Save chart' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Added to “Sales board”' })).toBeVisible();
  await builder.getByLabel(/^Group by/).selectOption('');
  await builder.getByRole('combobox', { name: /^Chart/ }).selectOption('big_number');
  await builder.getByLabel('Chart title').fill('Total sales');
  await page.getByRole('button', { name: 'Run query' }).click();
  await expect(page.getByTestId('big-number')).toHaveText('27');
  await page.getByRole('button', { name: 'Save chart' }).click();
  await page.getByRole('link', { name: 'Open the dashboard' }).click();
  await expect(page.getByRole('heading', { name: 'Sales board' })).toBeVisible();
  await expect(page).toHaveURL(/\/dashboards\/[0-9a-f-]+$/);
  await expect(page.getByRole('img', { name: /Sales by month/ })).toBeVisible();
  await expect(page.getByRole('img', { name: /Sales by city/ })).toBeVisible();
  await expect(page.getByTestId('big-number')).toHaveText('27');
  await shoot(page, 'dashboard');

  for (const [name, heading] of [['NLP', 'NLP'], ['Dashboards', 'Dashboards']] as const) {
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

test('a dashboard: drag and resize kept, filters and cross-filter on every chart, dark mode', async ({ page }) => {
  const errors = watchConsole(page);
  await page.setViewportSize({ width: 1440, height: 1600 }); // the whole grid on screen, for the mouse
  await signIn(page, 'analyst');
  await nav(page, 'Dashboards');
  await page.getByRole('link', { name: 'Sales board' }).click();
  await expect(page.getByTestId('big-number')).toHaveText('27');
  const board = (await boards()).find((b) => b.name === 'Sales board')!;
  const before = board.charts.find((c) => c.title === 'Sales by city')!.layout!;

  // Edit mode: resize "Sales by city" from its corner and move "Total sales" by its handle.
  await page.getByRole('button', { name: 'Edit' }).click();
  const cell = page.locator('.grid-cell').filter({ has: page.getByRole('img', { name: /Sales by city/ }) });
  const corner = (await cell.locator('.react-resizable-handle').boundingBox())!;
  await page.mouse.move(corner.x + 5, corner.y + 5);
  await page.mouse.down();
  await page.mouse.move(corner.x + 300, corner.y + 120, { steps: 10 });
  await page.mouse.up();
  await expect(page.getByRole('status').filter({ hasText: 'Saved' })).toBeVisible();
  const handle = (await page.getByRole('button', { name: 'Move Total sales', exact: true }).boundingBox())!;
  await page.mouse.move(handle.x + 10, handle.y + 8);
  await page.mouse.down();
  await page.mouse.move(handle.x + 700, handle.y + 8, { steps: 12 });
  await page.mouse.up();
  await expect.poll(async () => {
    const charts = (await boards()).find((b) => b.id === board.id)!.charts;
    const city = charts.find((c) => c.title === 'Sales by city')!.layout!;
    const total = charts.find((c) => c.title === 'Total sales')!.layout!;
    return city.w > before.w && city.h > before.h && total.x > 0;
  }, { timeout: 15_000 }).toBe(true);
  // The keyboard does the same: Shift + → widens "Sales by month" by one column.
  const month = () => boards().then((all) => all.find((b) => b.id === board.id)!.charts.find((c) => c.title === 'Sales by month')!.layout!);
  const widthBefore = (await month()).w;
  await page.getByRole('button', { name: 'Move Sales by month', exact: true }).focus();
  await page.keyboard.press('Shift+ArrowRight');
  await expect.poll(async () => (await month()).w, { timeout: 15_000 }).toBe(widthBefore + 1);
  await page.getByRole('button', { name: 'Done' }).click();
  await page.reload();
  const width = async (title: RegExp) =>
    (await page.locator('.grid-cell').filter({ has: page.getByRole('img', { name: title }) }).boundingBox())!.width;
  await expect(page.getByRole('img', { name: /Sales by city/ })).toBeVisible();
  // The resize was kept (the first paint may be the offline cache, then the server's copy).
  await expect.poll(async () => (await width(/Sales by city/)) / (await width(/Sales by month/)), { timeout: 15_000 })
    .toBeGreaterThan(1.1);

  // A dashboard filter applies to every chart on the dataset.
  await page.getByRole('button', { name: 'Edit' }).click();
  const filters = page.getByRole('region', { name: 'Dashboard filters' });
  await filters.getByLabel(/^Filter column/).selectOption('city');
  await filters.getByLabel('Values (comma separated)').fill('Oslo');
  await filters.getByRole('button', { name: 'Add filter' }).click();
  await expect(filters).toContainText('city: Oslo');
  await expect(page.getByTestId('big-number')).toHaveText('13');
  await filters.getByRole('button', { name: 'Remove filter city' }).click();
  await expect(page.getByTestId('big-number')).toHaveText('27');
  await page.getByRole('button', { name: 'Done' }).click();

  // Cross-filter: a click on Rome's bar filters the other charts; a second click clears it.
  const bars = page.getByRole('img', { name: /Sales by city/ }).locator('.recharts-bar-rectangle');
  await expect(bars).toHaveCount(3);
  await bars.nth(2).click(); // sorted by city: Lima, Oslo, Rome
  await expect(page.getByRole('status').filter({ hasText: 'Filtered by city = Rome' })).toBeVisible();
  await expect(page.getByTestId('big-number')).toHaveText('12');
  await page.getByRole('button', { name: 'Clear the cross-filter' }).click();
  await expect(page.getByTestId('big-number')).toHaveText('27');

  // Dark mode: the toggle wins over the OS preference and is kept across reloads.
  await page.getByRole('button', { name: 'Use the dark theme' }).click();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await page.reload();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await page.getByRole('button', { name: 'Use the light theme' }).click();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'light');
  expect(errors).toEqual([]);
});

test('pipelines: edit the YAML (checked live), history, clone and delete; jobs name what they ran', async ({ page }) => {
  const errors = watchConsole(page, ['/api/v1/pipelines/validate']); // 422 while the spec is invalid
  page.on('dialog', (d) => void d.accept());
  await signIn(page, 'analyst');
  await nav(page, 'Pipelines');
  const row = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'sales-by-city', exact: true }) });
  await expect(row.getByRole('link', { name: 'succeeded' })).toBeVisible();
  await expect(row.getByRole('link', { name: 'Output sales_by_city' })).toBeVisible();

  await row.getByRole('button', { name: 'Edit' }).click();
  const editor = page.getByRole('form', { name: 'Edit sales-by-city' });
  const yaml = editor.getByLabel('Spec as YAML');
  await yaml.fill('source: {dataset: sales\n');
  await expect(editor.getByRole('alert').filter({ hasText: /^YAML: / })).toBeVisible();
  await yaml.fill("source: {dataset: sales}\nsteps:\n  - {op: filter, expr: \"city != 'Nowhere'\"}\n  - {op: select, columns: [city, nope]}\nsink: {dataset: sales_by_city}\n");
  // The API's check names the step and field at fault, next to that step.
  await expect(editor.getByRole('group', { name: 'Step 2' }).getByRole('alert')).toContainText("columns.1: unknown column 'nope'");
  await yaml.fill("source: {dataset: sales}\nsteps:\n  - {op: filter, expr: \"city != 'Lima'\"}\n  - {op: select, columns: [city, sales]}\nsink: {dataset: sales_by_city}\n");
  await expect(editor.getByRole('status', { name: 'Check' })).toContainText('Valid');
  // The form follows the text: step 2 is a select with its columns checked.
  await expect(editor.getByRole('group', { name: 'Step 2' }).getByRole('group', { name: 'Keep columns' }).getByLabel(/^sales/)).toBeChecked();
  await editor.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(editor.getByRole('status').filter({ hasText: 'Saved “sales-by-city” (version 2)' })).toBeVisible();

  await row.getByRole('button', { name: 'History' }).click();
  const history = page.getByRole('region', { name: 'History of sales-by-city' });
  await expect(history.getByRole('row')).toHaveCount(3); // header, v2, v1
  await expect(history).toContainText('filter → select');
  await expect(history).toContainText('aggregate');

  await row.getByRole('button', { name: 'Clone' }).click();
  const clone = page.getByRole('form', { name: 'Build a pipeline' });
  await expect(clone.getByLabel('Name', { exact: true })).toHaveValue('sales-by-city-copy');
  await clone.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(clone.getByRole('status').filter({ hasText: 'Saved “sales-by-city-copy” (version 1)' })).toBeVisible();
  const copy = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'sales-by-city-copy' }) });
  await copy.getByRole('button', { name: 'Delete' }).click();
  await expect(copy).toHaveCount(0);
  await expect(row).toHaveCount(1);

  // Jobs: the run names its pipeline, links its output, and its logs carry no colour codes.
  await row.getByRole('link', { name: 'succeeded' }).click();
  await expect(page).toHaveURL(/\/jobs\?job=/);
  const job = page.getByRole('article', { name: /^Job / });
  await expect(job.getByRole('heading', { level: 2 })).toContainText('pipeline sales-by-city');
  await expect(job.getByRole('link', { name: 'sales_by_city' })).toBeVisible();
  await expect(job.getByRole('table', { name: /Rows after each step/ })).toBeVisible();
  await expect(job.getByLabel('Logs')).not.toContainText('\x1b[', { timeout: 10_000 });
  await shoot(page, 'jobs');
  expect(errors).toEqual([]);
});

test('schedules and jobs: schedule a pipeline, see its next runs, pause it; a run shows its attempts and logs', async ({ page }) => {
  const errors = watchConsole(page, ['/api/v1/schedules']); // the 422 of the malformed cron
  page.on('dialog', (d) => void d.accept());
  await signIn(page, 'analyst');
  await nav(page, 'Pipelines');
  const row = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'sales-by-city', exact: true }) });
  await row.getByRole('link', { name: 'Schedule' }).click();
  await expect(page).toHaveURL(/\/schedules\?pipeline=/);
  const form = page.getByRole('form', { name: 'New schedule' });
  await form.getByLabel('Name', { exact: true }).fill('nightly sales');
  await expect(form.getByLabel('Pipeline', { exact: true })).toHaveValue(/.+/);
  await form.getByRole('button', { name: 'every night at 02:00' }).click();
  await form.getByLabel('Time zone', { exact: true }).fill('UTC');
  await form.getByRole('button', { name: 'Create schedule' }).click();
  await expect(form.getByRole('status')).toContainText('Scheduled “nightly sales”: next run');
  const schedule = page.getByRole('row').filter({ hasText: 'nightly sales' });
  await expect(schedule).toContainText('every night at 02:00 (UTC)');
  await expect(schedule.getByRole('cell').nth(3)).not.toHaveText('–');
  // A malformed cron is refused with the field named.
  await form.getByLabel('Name', { exact: true }).fill('broken');
  await form.getByLabel('Cron', { exact: true }).fill('61 * * * *');
  await form.getByRole('button', { name: 'Create schedule' }).click();
  await expect(form.getByRole('alert')).toContainText(/cron/i);
  await schedule.getByRole('button', { name: 'Pause' }).click();
  await expect(schedule).toContainText('paused');
  await schedule.getByRole('button', { name: 'Resume' }).click();
  await expect(schedule).not.toContainText('paused');
  await shoot(page, 'schedules');

  // The pipeline's last run: its attempt (runner, outcome) and its logs.
  await nav(page, 'Pipelines');
  await row.getByRole('link', { name: 'succeeded' }).click();
  const job = page.getByRole('article', { name: /^Job / });
  const attempts = job.getByRole('table', { name: 'Attempts' });
  await expect(attempts).toContainText('helio-runner-');
  await expect(attempts).toContainText('succeeded');
  await expect(job.getByLabel('Logs')).toContainText('helio: attempt 1 of');
  await expect(job.getByLabel('Logs')).toContainText('helio: succeeded');

  await nav(page, 'Schedules');
  await schedule.getByRole('button', { name: 'Delete' }).click();
  await expect(schedule).toHaveCount(0);
  expect(errors).toEqual([]);
});

test('models: train, see the diagnostics, promote, and try it from a form', async ({ page }) => {
  const errors = watchConsole(page);
  // A penguins-like table: two species told apart by bill length and body mass.
  const lines = ['species,island,bill_length_mm,body_mass_g'];
  for (let i = 0; i < 80; i += 1) {
    const gentoo = i % 2 === 1;
    lines.push(`${gentoo ? 'Gentoo' : 'Adelie'},${['Biscoe', 'Dream', 'Torgersen'][i % 3]},` +
      `${(gentoo ? 47 : 38.5) + ((i * 7) % 10) / 3},${(gentoo ? 5000 : 3700) + ((i * 37) % 400)}`);
  }
  await signIn(page, 'analyst');
  await nav(page, 'Datasets');
  await page.getByLabel('File (CSV, JSON Lines, Parquet)').setInputFiles({
    name: 'penguins.csv', mimeType: 'text/csv', buffer: Buffer.from(lines.join('\n')) });
  await expect(page.getByRole('region', { name: 'Column types' })).toBeVisible();
  await page.getByRole('button', { name: 'Upload' }).click();
  await expect(page.getByRole('status')).toContainText('Uploaded "penguins"');

  await nav(page, 'Models');
  const train = page.getByRole('form', { name: 'Train a model' });
  await train.getByLabel('Model name').fill('penguin-species');
  await train.getByLabel(/^Dataset/).selectOption('penguins');
  await train.getByLabel(/^Target/).selectOption('species');
  await train.getByRole('button', { name: 'Train' }).click();
  await expect(train.getByTestId('job-status')).toHaveText('succeeded', { timeout: 150_000 });
  await page.getByRole('button', { name: 'penguin-species' }).click();
  await expect(page).toHaveURL(/model=penguin-species/);
  const model = page.getByRole('article', { name: 'Model penguin-species' });
  await expect(model.getByRole('figure', { name: 'Confusion matrix' })).toContainText('Gentoo');
  await expect(model.getByRole('img', { name: /^ROC curve, AUC/ })).toBeVisible();
  await expect(model.getByRole('img', { name: /^Feature importances: / })).toBeVisible();
  await model.getByRole('button', { name: 'To production' }).click();
  await expect(model.getByRole('row', { name: /v1 production/ })).toBeVisible();

  const tryIt = model.getByRole('form', { name: 'Try penguin-species' });
  await tryIt.getByLabel(/^bill_length_mm/).fill('49.5');
  await tryIt.getByLabel(/^body_mass_g/).fill('5300');
  await tryIt.getByLabel(/^island/).selectOption('Biscoe');
  await tryIt.getByRole('button', { name: 'Predict' }).click();
  const prediction = tryIt.getByRole('status', { name: 'Prediction' });
  await expect(prediction).toContainText('species: Gentoo');
  await expect(prediction.getByLabel('Probability of Gentoo')).toBeVisible();
  await shoot(page, 'models');
  expect(errors).toEqual([]);
});

test('admin: copy a new key, reset a password, delete a user, and the audit log updates by itself', async ({ page, context }) => {
  const errors = watchConsole(page, ['/api/v1/users']); // the common password's 422
  page.on('dialog', (d) => void d.accept());
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await signIn(page, 'admin');
  await nav(page, 'Admin');
  await expect(page).toHaveTitle('Admin · Helio');

  const keys = page.getByRole('form', { name: 'Create an API key' });
  await keys.getByLabel('Name').fill('ci-key');
  await keys.getByRole('button', { name: 'Create key' }).click();
  await page.getByRole('button', { name: 'Copy the new key' }).click();
  await expect(page.getByRole('button', { name: 'Copy the new key' })).toHaveText('Copied ✓');
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  await expect(page.locator('code.secret')).toHaveText(copied);

  const create = page.getByRole('form', { name: 'Create a user' });
  await create.getByLabel('Email').fill('temp@example.com');
  await create.getByLabel(/^Password/).fill('Q1w2e3r4t5y6'); // long enough, but a common one
  await create.getByRole('button', { name: 'Create user' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'commonly used passwords' })).toBeVisible();
  await create.getByLabel(/^Password/).fill('a-long-unusual-passphrase');
  await create.getByRole('button', { name: 'Create user' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Created temp@example.com' })).toBeVisible();

  const user = page.getByRole('row').filter({ hasText: 'temp@example.com' });
  await user.getByRole('button', { name: 'Reset password' }).click();
  await user.getByLabel('New password for temp@example.com').fill('another-long-passphrase');
  await user.getByRole('button', { name: 'Set' }).click();
  await expect(user.getByRole('button', { name: 'Reset password' })).toBeVisible();
  const { url } = state();
  const login = await fetch(`${url}/api/v1/auth/token`, { method: 'POST',
    body: new URLSearchParams({ username: 'temp@example.com', password: 'another-long-passphrase' }) });
  expect(login.status).toBe(200);

  // Something happens elsewhere (a sign-in through the API): the audit log shows it unprompted.
  const audit = page.getByRole('table', { name: 'Audit entries' });
  await user.getByRole('button', { name: 'Delete temp@example.com' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Deleted temp@example.com' })).toBeVisible();
  await expect(audit).toContainText('user.delete', { timeout: 15_000 });
  await expect(audit).not.toContainText('nobody@example.com');
  await fetch(`${url}/api/v1/auth/token`, { method: 'POST',
    body: new URLSearchParams({ username: 'nobody@example.com', password: 'wrong-password-here' }) });
  await expect(audit).toContainText('nobody@example.com', { timeout: 20_000 });
  await shoot(page, 'admin');
  expect(errors).toEqual([]);
});

test('offline: the cached dashboard stays readable and a queued edit is saved on reconnect', async ({ page, context }) => {
  await signIn(page, 'analyst');
  await nav(page, 'Dashboards');
  await page.getByRole('link', { name: 'Sales board' }).click();
  await expect(page.getByRole('img', { name: /Sales by city/ })).toBeVisible();
  await expect(page.getByTestId('big-number')).toHaveText('27');
  await page.waitForTimeout(2000); // the cache is written to IndexedDB (debounced)
  await page.evaluate(async () => navigator.serviceWorker.ready);

  await context.setOffline(true);
  await page.reload();
  await expect(page.getByRole('status').filter({ hasText: 'You are offline' })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Sales board' })).toBeVisible();
  await expect(page.getByRole('img', { name: /Sales by city/ })).toBeVisible();
  await expect(page.getByTestId('big-number')).toHaveText('27');
  await shoot(page, 'offline');
  await page.getByRole('button', { name: 'Edit' }).click();
  await page.getByLabel('Dashboard name').fill('Sales (edited offline)');
  await page.getByRole('button', { name: 'Rename' }).click();
  await expect(page.getByText('Offline: the edit is queued')).toBeVisible();

  await context.setOffline(false);
  await expect(page.getByRole('status').filter({ hasText: 'You are offline' })).toHaveCount(0, { timeout: 30_000 });
  await expect.poll(async () => (await boards()).map((b) => b.name), { timeout: 30_000 }).toContain('Sales (edited offline)');
});
