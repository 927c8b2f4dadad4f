import { createSlice, type PayloadAction } from '@reduxjs/toolkit';
import { get, set } from 'idb-keyval';
import type { ChartSpec, DashboardPublic, DashboardSettings } from '../api/generated';

/** A dashboard edit made while offline, replayed on reconnect against `baseVersion`. */
export type QueuedEdit = {
  id: string;
  dashboardId: string;
  baseVersion: number;
  name: string;
  charts: ChartSpec[];
  settings?: DashboardSettings;
  queuedAt: string;
};

/** An edit the server refused because the dashboard changed meanwhile: kept, not lost. */
export type Conflict = QueuedEdit & { current: DashboardPublic | null; message: string };

export type OutboxState = { queued: QueuedEdit[]; conflicts: Conflict[]; replaying: boolean };

const initialState: OutboxState = { queued: [], conflicts: [], replaying: false };
const KEY = 'helio-outbox-v1';

export const outboxSlice = createSlice({
  name: 'outbox',
  initialState,
  reducers: {
    restored(_state, action: PayloadAction<OutboxState>) {
      return { ...action.payload, replaying: false };
    },
    queued(state, action: PayloadAction<QueuedEdit>) {
      // A later edit of the same dashboard replaces the earlier one (same base version).
      const earlier = state.queued.find((q) => q.dashboardId === action.payload.dashboardId);
      if (earlier) {
        Object.assign(earlier, { ...action.payload, baseVersion: earlier.baseVersion });
      } else {
        state.queued.push(action.payload);
      }
    },
    replayStarted(state) {
      state.replaying = true;
    },
    replayed(state, action: PayloadAction<string>) {
      state.queued = state.queued.filter((q) => q.id !== action.payload);
    },
    conflicted(state, action: PayloadAction<Conflict>) {
      state.queued = state.queued.filter((q) => q.id !== action.payload.id);
      state.conflicts.push(action.payload);
    },
    replayFinished(state) {
      state.replaying = false;
    },
    conflictDismissed(state, action: PayloadAction<string>) {
      state.conflicts = state.conflicts.filter((c) => c.id !== action.payload);
    },
  },
});

export const outbox = outboxSlice.actions;

export async function loadOutbox(): Promise<OutboxState | undefined> {
  try {
    return (await get(KEY)) as OutboxState | undefined;
  } catch {
    return undefined;
  }
}

export async function saveOutbox(state: OutboxState): Promise<void> {
  try {
    await set(KEY, { queued: state.queued, conflicts: state.conflicts, replaying: false });
  } catch {
    /* ignore */
  }
}

type PutResult = { data?: DashboardPublic; error?: { status: number | string; data?: unknown } };

/** Send queued edits in order; a 409 becomes a conflict carrying the server's copy. */
export async function replayQueue(
  queue: QueuedEdit[],
  put: (edit: QueuedEdit) => Promise<PutResult>,
  report: {
    replayed: (id: string) => void;
    conflicted: (conflict: Conflict) => void;
  },
): Promise<void> {
  for (const edit of queue) {
    const result = await put(edit);
    if (result.error?.status === 'FETCH_ERROR') return; // still offline: keep the rest
    if (result.error?.status === 409) {
      const body = result.error.data as { current?: DashboardPublic; detail?: string } | undefined;
      report.conflicted({ ...edit, current: body?.current ?? null, message: body?.detail ?? 'Conflict' });
    } else if (result.error) {
      const body = result.error.data as { detail?: string } | undefined;
      report.conflicted({ ...edit, current: null, message: body?.detail ?? 'The edit was refused' });
    } else {
      report.replayed(edit.id);
    }
  }
}
