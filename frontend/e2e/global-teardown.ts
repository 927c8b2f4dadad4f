import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { helioBin, ROOT, state } from './helio';

// Keep the instance's Helio and Serve logs for the failure summary before its home goes:
// under CI in $HELIO_CI_REPORTS/e2e-instance, else in frontend/test-results/e2e-instance.
function keepLogs(home: string): void {
  const dest = join(process.env.HELIO_CI_REPORTS ?? join(ROOT, 'frontend', 'test-results'), 'e2e-instance');
  const copy = (from: string, to: string) => {
    if (existsSync(from)) cpSync(from, join(dest, to), { recursive: true, dereference: true });
  };
  try {
    copy(join(home, 'logs'), 'helio');
    // The Ray session of `helio up` lives in a per-home temp dir (cluster/local_ray.py).
    const uid = process.getuid?.() ?? 0;
    const digest = createHash('sha256').update(`${uid}:${realpathSync(home)}`).digest('hex').slice(0, 8);
    copy(join(tmpdir(), `helio-${digest}`, 'session_latest', 'logs', 'serve'), 'serve');
  } catch (error) {
    console.warn(`could not keep the e2e instance's logs: ${String(error)}`);
  }
}

export default function globalTeardown(): void {
  const { env } = state();
  const home = env.HELIO_HOME ?? '';
  try {
    keepLogs(home);
    execFileSync(helioBin(), ['down'], { env, stdio: 'inherit', timeout: 120_000 });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
