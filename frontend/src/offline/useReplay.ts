import { useEffect } from 'react';
import { api } from '../api';
import { restoreSession } from '../auth/session';
import { useAppDispatch, useAppSelector } from '../hooks';
import { outbox, replayQueue } from './outbox';
import { useOnline } from './useOnline';

/** Back online: renew the session, then replay the queued edits (conflicts are kept). */
export function useReplay(): void {
  const dispatch = useAppDispatch();
  const online = useOnline();
  const status = useAppSelector((s) => s.auth.status);
  const queued = useAppSelector((s) => s.outbox.queued);
  const replaying = useAppSelector((s) => s.outbox.replaying);

  useEffect(() => {
    if (online && status === 'offline') void restoreSession(dispatch);
  }, [online, status, dispatch]);

  useEffect(() => {
    if (!online || status !== 'authenticated' || replaying || queued.length === 0) return;
    dispatch(outbox.replayStarted());
    void replayQueue(
      queued,
      async (edit) => {
        const result = await dispatch(
          api.endpoints.putApiV1DashboardsByDashboardId.initiate({
            dashboardId: edit.dashboardId,
            dashboardUpdate: { name: edit.name, charts: edit.charts, settings: edit.settings, version: edit.baseVersion },
          }),
        );
        return 'error' in result
          ? { error: result.error as { status: number | string; data?: unknown } }
          : { data: result.data };
      },
      {
        replayed: (id) => dispatch(outbox.replayed(id)),
        conflicted: (conflict) => dispatch(outbox.conflicted(conflict)),
      },
    ).finally(() => {
      dispatch(outbox.replayFinished());
      dispatch(api.util.invalidateTags(['dashboards']));
    });
  }, [online, status, queued, replaying, dispatch]);
}
