import { combineReducers, configureStore } from '@reduxjs/toolkit';
import { setupListeners } from '@reduxjs/toolkit/query';
import { api } from './api';
import { authSlice } from './auth/authSlice';
import { liveSlice } from './live/liveSlice';
import { outboxSlice, saveOutbox } from './offline/outbox';
import { saveCache } from './offline/persist';

const reducer = combineReducers({
  [api.reducerPath]: api.reducer,
  auth: authSlice.reducer,
  live: liveSlice.reducer,
  outbox: outboxSlice.reducer,
});

export type RootState = ReturnType<typeof reducer>;

export function makeStore(preloaded?: Partial<RootState>) {
  const store = configureStore({
    reducer,
    preloadedState: preloaded as RootState | undefined,
    middleware: (getDefault) => getDefault().concat(api.middleware),
  });
  setupListeners(store.dispatch);
  return store;
}

export type AppStore = ReturnType<typeof makeStore>;
export type AppDispatch = AppStore['dispatch'];

/** Save the API cache and the outbox to IndexedDB (debounced) while signed in. */
export function persistStore(store: AppStore, delayMs = 1000): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let lastApi: unknown;
  let lastOutbox: unknown;
  return store.subscribe(() => {
    const state = store.getState();
    if (state.outbox !== lastOutbox) {
      lastOutbox = state.outbox;
      void saveOutbox(state.outbox);
    }
    if (state.api === lastApi || state.auth.status !== 'authenticated') return;
    lastApi = state.api;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void saveCache(store.getState().api), delayMs);
  });
}
