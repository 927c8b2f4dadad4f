import { api } from '../api';

/** The badge class for a job's (or an index's) status: green done, red failed. */
export const statusBadge = (status: string): string =>
  status === 'succeeded' || status === 'ready' ? 'badge ok' : status === 'failed' || status === 'cancelled' ? 'badge bad' : 'badge';

/** A job's status and progress, kept live by the event stream. */
export function JobProgress({ jobId }: { jobId: string }) {
  const { data: job } = api.useGetApiV1JobsByJobIdQuery({ jobId },
    { pollingInterval: 5000, skipPollingIfUnfocused: true });
  if (!job) return <p className="muted">Starting…</p>;
  const pctDone = Math.round(job.progress * 100);
  return (
    <div className="job-progress" data-testid="job-progress">
      <progress max={100} value={pctDone} aria-label={`Job ${job.kind} progress`} />
      <span>{job.kind} · <strong data-testid="job-status">{job.status}</strong> · {pctDone}%</span>
      {job.error && <p role="alert" className="error">{job.error}</p>}
    </div>
  );
}
