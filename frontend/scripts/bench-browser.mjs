// Browser timings for benchmarks/frontend.py, in the machine's chromium:
// time to first render of Overview (heading visible) and to its first live metric, over
// repeated loads of a signed-in session; and the per-update cost of a live chart with 10
// series updated once a second; the time until all charts of a 12-chart dashboard are
// drawn (the first visit, then reloads). Prints JSON.
import { chromium } from '@playwright/test';

const { HELIO_URL, HELIO_EMAIL, HELIO_PASSWORD, BENCH_URL } = process.env;
const executablePath = process.env.HELIO_CHROMIUM ?? '/usr/lib/chromium/chromium';
const loads = Number(process.env.LOADS ?? 7);
const chartSeconds = Number(process.env.CHART_SECONDS ?? 20);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

const browser = await chromium.launch({ executablePath, args: ['--headless', '--no-sandbox',
  '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'] });
try {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  await page.goto(HELIO_URL);
  await page.getByLabel('Email').fill(HELIO_EMAIL);
  await page.getByLabel('Password').fill(HELIO_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();

  const render = [];
  const live = [];
  for (let i = 0; i < loads; i += 1) {
    const started = Date.now();
    await page.goto(HELIO_URL);
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    render.push(Date.now() - started);
    await page.waitForFunction(() => {
      const el = document.querySelector('[data-testid="stat-rps"] .stat-value');
      return el && el.textContent !== '–';
    }, null, { timeout: 15000 });
    live.push(Date.now() - started);
  }
  // A 12-chart dashboard: from navigation until every chart is drawn (no cell loading).
  const charts = Number(process.env.DASHBOARD_CHARTS ?? 12);
  const boardUrl = `${HELIO_URL}/dashboards/${process.env.DASHBOARD_ID}`;
  const drawn = (n) => page.waitForFunction((want) => {
    const cells = document.querySelectorAll('.grid-cell');
    return cells.length === want && [...cells].every((c) => c.querySelector('figure.chart') && !c.querySelector('.loading'));
  }, n, { timeout: 60000 });
  const boards = [];
  for (let i = 0; i <= loads; i += 1) {
    const started = Date.now();
    await page.goto(boardUrl);
    await drawn(charts);
    boards.push(Date.now() - started);
  }
  const nav = await page.evaluate(() => {
    const [entry] = performance.getEntriesByType('navigation');
    return { dom_content_loaded_ms: entry.domContentLoadedEventEnd, load_ms: entry.loadEventEnd };
  });

  const bench = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await bench.goto(`${BENCH_URL}/bench.html?interval=1000`);
  await bench.waitForTimeout(chartSeconds * 1000);
  const costs = (await bench.evaluate(() => window.frameCosts)).slice(1); // first: mount
  const work = (await bench.evaluate(() => window.workCosts)).slice(1);
  console.log(JSON.stringify({
    overview_render_ms: { median: median(render), runs: render },
    overview_first_metric_ms: { median: median(live), runs: live },
    last_navigation: nav,
    dashboard_render_ms: { first: boards[0], median: median(boards.slice(1)), runs: boards },
    chart_update_ms: { median: median(work), p95: pct(work, 0.95), max: Math.max(...work), samples: work.length },
    chart_update_to_next_frame_ms: { median: median(costs), p95: pct(costs, 0.95), samples: costs.length },
  }));
} finally {
  await browser.close();
}
