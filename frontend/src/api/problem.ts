import type { SerializedError } from '@reduxjs/toolkit';
import type { FetchBaseQueryError } from '@reduxjs/toolkit/query';

type ProblemBody = { detail?: string; errors?: { loc: string[]; msg: string }[] | null };

/** A readable message for an RTK Query error: the problem's detail and field errors. */
export function problemMessage(error: FetchBaseQueryError | SerializedError | undefined): string {
  if (!error) return '';
  if ('status' in error) {
    if (error.status === 'FETCH_ERROR') return 'The server cannot be reached (offline?)';
    const body = error.data as ProblemBody | undefined;
    const fields = (body?.errors ?? [])
      .slice(0, 5)
      .map((e) => `${e.loc.filter((p) => p !== 'body').join('.')}: ${e.msg}`);
    const detail = body?.detail ?? `Request failed (${String(error.status)})`;
    return fields.length ? `${detail} — ${fields.join('; ')}` : detail;
  }
  return error.message ?? 'Something went wrong';
}
