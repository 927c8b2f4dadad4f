import { createApi } from '@reduxjs/toolkit/query/react';
import { REHYDRATE_API, type RehydrateAction } from '../offline/persist';
import { baseQueryWithReauth } from './baseQuery';

// Endpoints are injected by the generated client (src/api/generated.ts).
export const emptyApi = createApi({
  reducerPath: 'api',
  baseQuery: baseQueryWithReauth,
  endpoints: () => ({}),
  // Online, a page shows fresh data (the persisted cache may be old); offline the refetch
  // fails and the cached data stays on screen.
  refetchOnMountOrArgChange: true,
  refetchOnReconnect: true,
  // Cached API data saved to IndexedDB comes back on start (readable offline).
  extractRehydrationInfo(action, { reducerPath }) {
    if (action.type === REHYDRATE_API) {
      return (action as RehydrateAction).payload?.[reducerPath];
    }
    return undefined;
  },
});
