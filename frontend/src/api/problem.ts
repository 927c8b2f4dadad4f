import type { SerializedError } from '@reduxjs/toolkit';
import type { FetchBaseQueryError } from '@reduxjs/toolkit/query';

type ProblemBody = { detail?: string; errors?: { loc: (string | number)[]; msg: string }[] | null };

/** A readable message for an RTK Query error: the problem's detail and its field errors,
 * each said once (a field error that repeats the detail is not printed again). */
export function problemMessage(error: FetchBaseQueryError | SerializedError | undefined): string {
  if (!error) return '';
  if ('status' in error) {
    if (error.status === 'FETCH_ERROR') return 'The server cannot be reached (offline?)';
    return problemText(error.data as ProblemBody | undefined, error.status);
  }
  return error.message ?? 'Something went wrong';
}

export function problemText(body: ProblemBody | undefined, status: number | string): string {
  const detail = body?.detail ?? `Request failed (${String(status)})`;
  const fields = (body?.errors ?? [])
    .filter((e) => !detail.includes(e.msg))
    .slice(0, 5)
    .map((e) => {
      const where = e.loc.filter((p) => p !== 'body').join('.');
      return where ? `${where}: ${e.msg}` : e.msg;
    });
  return fields.length ? `${detail} — ${fields.join('; ')}` : detail;
}
