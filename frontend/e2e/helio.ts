import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const STATE = join(ROOT, 'frontend', 'test-results', 'helio-e2e.json');

export type E2eState = {
  url: string;
  env: Record<string, string>;
  users: Record<'admin' | 'analyst' | 'viewer', { email: string; password: string }>;
};

export function state(): E2eState {
  if (!existsSync(STATE)) throw new Error('the e2e Helio was not started (global setup)');
  return JSON.parse(readFileSync(STATE, 'utf8')) as E2eState;
}

export function helioBin(): string {
  return process.env.HELIO_BIN ?? join(ROOT, '.venv', 'bin', 'helio');
}
