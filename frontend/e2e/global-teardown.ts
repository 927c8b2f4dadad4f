import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { helioBin, state } from './helio';

export default function globalTeardown(): void {
  const { env } = state();
  try {
    execFileSync(helioBin(), ['down'], { env, stdio: 'inherit', timeout: 120_000 });
  } finally {
    rmSync(env.HELIO_HOME ?? '', { recursive: true, force: true });
  }
}
