import { del, get, set } from 'idb-keyval';
import type { SessionUser } from '../auth/authSlice';

export const REHYDRATE_API = 'offline/rehydrateApi';
export type RehydrateAction = { type: typeof REHYDRATE_API; payload?: Record<string, never> };

const CACHE_KEY = 'helio-api-cache-v1';
const USER_KEY = 'helio-last-user-v1';

type ApiState = {
  queries: Record<string, { status?: string } | undefined>;
  provided: unknown;
  config: unknown;
};

/** The fulfilled queries of the RTK Query cache, as saved to IndexedDB. */
export function cacheSnapshot(state: ApiState): Record<string, unknown> {
  const queries = Object.fromEntries(
    Object.entries(state.queries).filter(([, q]) => q?.status === 'fulfilled'),
  );
  return { api: { queries, mutations: {}, provided: state.provided, subscriptions: {}, config: state.config } };
}

export async function loadCache(): Promise<Record<string, unknown> | undefined> {
  try {
    return (await get(CACHE_KEY)) as Record<string, unknown> | undefined;
  } catch {
    return undefined; // private mode or IndexedDB unavailable: start empty
  }
}

export async function saveCache(state: ApiState): Promise<void> {
  try {
    await set(CACHE_KEY, cacheSnapshot(state));
  } catch {
    // quota or unavailable: the app works, it just will not be readable offline
  }
}

export async function rememberUser(user: SessionUser | null): Promise<void> {
  try {
    if (user) await set(USER_KEY, user);
    else await del(USER_KEY);
  } catch {
    /* ignore */
  }
}

export async function lastUser(): Promise<SessionUser | undefined> {
  try {
    return (await get(USER_KEY)) as SessionUser | undefined;
  } catch {
    return undefined;
  }
}

export async function forgetEverything(): Promise<void> {
  await Promise.allSettled([del(CACHE_KEY), del(USER_KEY), del('helio-outbox-v1')]);
}
