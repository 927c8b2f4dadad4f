import { api, type ChartSpec, type DashboardPublic, type DashboardSettings } from '../api';
import type { AppDispatch } from '../store';
import { outbox } from './outbox';

export type DashboardEdit = { name: string; charts: ChartSpec[]; settings?: DashboardSettings };

/** Save a dashboard edit: straight to the API when online; offline (or when the request
 * cannot reach the server) it is applied to the cached copy and queued for replay. The
 * cached list is updated with the saved copy at once, so the next edit (a drag right
 * after a resize) starts from the new version. */
export async function editDashboard(
  dispatch: AppDispatch, dashboard: DashboardPublic, edit: DashboardEdit,
): Promise<'saved' | 'queued' | { error: string }> {
  const patchCache = (next: Partial<DashboardPublic>) =>
    dispatch(api.util.updateQueryData('getApiV1Dashboards', { limit: 100 }, (draft) => {
      const found = draft.items.find((d) => d.id === dashboard.id);
      if (found) Object.assign(found, next);
    }));
  const queue = () => {
    dispatch(outbox.queued({
      id: crypto.randomUUID(), dashboardId: dashboard.id, baseVersion: dashboard.version,
      name: edit.name, charts: edit.charts, settings: edit.settings ?? dashboard.settings,
      queuedAt: new Date().toISOString(),
    }));
    patchCache({ name: edit.name, charts: edit.charts, ...(edit.settings ? { settings: edit.settings } : {}) });
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
  if (result.data) patchCache(result.data);
  return 'saved';
}
