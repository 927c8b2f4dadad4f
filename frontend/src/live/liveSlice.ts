import { createSlice, type PayloadAction } from '@reduxjs/toolkit';

export type PlatformMetrics = {
  ts: number;
  requests_per_s: number;
  p50_ms: number | null;
  p99_ms: number | null;
  error_rate: number;
  cache_hit_rate: number | null;
  rate_limited: number;
  running_jobs: number | null;
  node_cpu_percent?: number;
  memory_used_bytes?: number;
  memory_total_bytes?: number;
  cpu_total?: number;
  cpu_reserved?: number;
  replicas?: Record<string, number>;
};

export const HISTORY = 120; // seconds of live series kept

export type LiveState = {
  connected: boolean;
  metrics: PlatformMetrics[];
  // Latest version per dataset id seen on the event stream (charts re-query on change).
  datasetVersions: Record<string, number>;
};

const initialState: LiveState = { connected: false, metrics: [], datasetVersions: {} };

export const liveSlice = createSlice({
  name: 'live',
  initialState,
  reducers: {
    connected(state, action: PayloadAction<boolean>) {
      state.connected = action.payload;
    },
    metricsReceived(state, action: PayloadAction<PlatformMetrics>) {
      state.metrics.push(action.payload);
      if (state.metrics.length > HISTORY) state.metrics.splice(0, state.metrics.length - HISTORY);
    },
    datasetVersionLanded(state, action: PayloadAction<{ id: string; version: number }>) {
      state.datasetVersions[action.payload.id] = action.payload.version;
    },
  },
});

export const live = liveSlice.actions;
