import type { JobLogs } from '../api';

export type JobLogChunk = { job_id: string; seq: number; attempt: number; text: string };

/** Append a streamed chunk to the cached logs of its job. Chunks are numbered; one that
 * is already there is ignored, and a gap (a chunk missed while disconnected) returns
 * false so that the caller refetches what came after `last_seq`. */
export function appendChunk(logs: JobLogs, chunk: JobLogChunk): boolean {
  const last = logs.last_seq ?? -1;
  if (chunk.seq <= last) return true;
  if (chunk.seq !== last + 1) return false;
  logs.logs += chunk.text;
  logs.last_seq = chunk.seq;
  return true;
}
