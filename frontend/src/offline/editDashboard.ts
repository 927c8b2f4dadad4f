import { api, type ChartSpec, type DashboardPublic } from '../api';
import type { AppDispatch } from '../store';
import { outbox } from './outbox';

/** Save a dashboard edit: straight to the API when online; offline (or when the request
 * cannot reach the server) it is applied to the cached copy and queued for replay. */
export async function editDashboard(
  dispatch: AppDispatch, dashboard: DashboardPublic, edit: { name: string; charts: ChartSpec[] },
): Promise<'saved' | 'queued' | { error: string }> {
  const queue = () => {
    dispatch(outbox.queued({
      id: crypto.randomUUID(), dashboardId: dashboard.id, baseVersion: dashboard.version,
      name: edit.name, charts: edit.charts, queuedAt: new Date().toISOString(),
    }));
    dispatch(api.util.updateQueryData('getApiV1Dashboards', { limit: 100 }, (draft) => {
      const found = draft.items.find((d) => d.id === dashboard.id);
      if (found) Object.assign(found, edit);
    }));
    return 'queued' as const;
  };
  if (!navigator.onLine) return queue();
  const result = await dispatch(api.endpoints.putApiV1DashboardsByDashboardId.initiate({
    dashboardId: dashboard.id,
    dashboardUpdate: { ...edit, version: dashboard.version },
  }));
  if ('error' in result && result.error) {
    const error = result.error as { status?: number | string; data?: { detail?: string } };
    if (error.status === 'FETCH_ERROR') return queue();
    return { error: error.data?.detail ?? `The edit failed (${String(error.status)})` };
  }
  return 'saved';
}
