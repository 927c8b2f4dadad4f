import { useEffect } from 'react';
import { api, type JobPublic } from '../api';
import { refreshAccessToken } from '../api/baseQuery';
import { tokenReceived } from '../auth/authSlice';
import { useAppDispatch, useAppSelector } from '../hooks';
import { appendChunk, type JobLogChunk } from './jobLogs';
import { live, type PlatformMetrics } from './liveSlice';

type Event =
  | { type: 'hello' | 'ping' }
  | { type: 'metrics'; metrics: PlatformMetrics }
  | { type: 'job'; job: Pick<JobPublic, 'id' | 'kind' | 'status' | 'progress' | 'error'> }
  | { type: 'job_log'; job_log: JobLogChunk }
  | { type: 'dataset_version'; dataset: { id: string; name: string; version: number } };

export function eventsUrl(token: string, location: Location = window.location): string {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${location.host}/api/v1/events?token=${encodeURIComponent(token)}`;
}

/** One WebSocket per signed-in tab: metrics into the live slice, job and dataset events
 * into the RTK Query cache. Reconnects with backoff (and a fresh token) when it drops. */
export function useEvents(): void {
  const dispatch = useAppDispatch();
  const token = useAppSelector((s) => s.auth.accessToken);
  const status = useAppSelector((s) => s.auth.status);

  useEffect(() => {
    if (status !== 'authenticated' || !token) return undefined;
    let socket: WebSocket | null = null;
    let closed = false;
    let retry = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let lastJobsRefresh = 0;

    const open = (credential: string) => {
      socket = new WebSocket(eventsUrl(credential));
      socket.onopen = () => {
        retry = 0;
        dispatch(live.connected(true));
      };
      socket.onmessage = (message: MessageEvent<string>) => {
        const event = JSON.parse(message.data) as Event;
        if (event.type === 'metrics') {
          dispatch(live.metricsReceived(event.metrics));
        } else if (event.type === 'job') {
          const job = event.job;
          dispatch(
            api.util.updateQueryData('getApiV1JobsByJobId', { jobId: job.id }, (draft) => {
              Object.assign(draft, job);
            }),
          );
          const now = Date.now();
          if (job.status !== 'running' || now - lastJobsRefresh > 2000) {
            lastJobsRefresh = now;
            dispatch(api.util.invalidateTags(['jobs']));
          }
          if (job.status === 'succeeded') {
            // What a job makes: profiles and versions, models, indexes.
            dispatch(api.util.invalidateTags(['datasets', 'models', 'nlp']));
          }
        } else if (event.type === 'job_log') {
          // Only the job's owner and admins are sent its output (the server filters).
          const chunk = event.job_log;
          let inOrder = true;
          dispatch(
            api.util.updateQueryData('getApiV1JobsByJobIdLogs', { jobId: chunk.job_id }, (draft) => {
              inOrder = appendChunk(draft, chunk);
            }),
          );
          if (!inOrder) dispatch(api.util.invalidateTags([{ type: 'jobs' }]));
        } else if (event.type === 'dataset_version') {
          dispatch(live.datasetVersionLanded({ id: event.dataset.id, version: event.dataset.version }));
          dispatch(api.util.invalidateTags(['datasets']));
        }
      };
      socket.onclose = () => {
        dispatch(live.connected(false));
        if (closed) return;
        retry = Math.min(retry + 1, 6);
        timer = setTimeout(() => {
          void refreshAccessToken()
            .then((fresh) => {
              if (closed) return;
              if (fresh) dispatch(tokenReceived(fresh));
              open(fresh ?? credential);
            })
            .catch(() => !closed && open(credential));
        }, 500 * 2 ** retry);
      };
    };
    open(token);
    return () => {
      closed = true;
      if (timer) clearTimeout(timer);
      socket?.close();
    };
    // Reconnect only when the session changes, not on every token refresh.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [status, dispatch]);
}
