import {
  fetchBaseQuery,
  type BaseQueryFn,
  type FetchArgs,
  type FetchBaseQueryError,
} from '@reduxjs/toolkit/query/react';
import { signedOut, tokenReceived, type AuthState } from '../auth/authSlice';

export const REFRESH_URL = '/api/v1/auth/refresh';

const raw = fetchBaseQuery({
  // Absolute, so Request objects can be built outside a page too (tests).
  baseUrl: `${globalThis.location?.origin ?? ''}/`,
  credentials: 'same-origin',
  prepareHeaders(headers, { getState }) {
    const token = (getState() as { auth: AuthState }).auth.accessToken;
    if (token && !headers.has('Authorization')) headers.set('Authorization', `Bearer ${token}`);
    return headers;
  },
});

// One refresh at a time: concurrent 401s wait for the same refresh.
let refreshing: Promise<string | null> | null = null;

/** POST the refresh cookie; the new access token, or null when the session is over. */
export async function refreshAccessToken(): Promise<string | null> {
  refreshing ??= (async () => {
    try {
      const url = `${globalThis.location?.origin ?? ''}${REFRESH_URL}`;
      const response = await fetch(url, { method: 'POST', credentials: 'same-origin' });
      if (!response.ok) return null;
      const body = (await response.json()) as { access_token: string };
      return body.access_token;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/** fetchBaseQuery that, on a 401, refreshes the access token once and retries. */
export const baseQueryWithReauth: BaseQueryFn<string | FetchArgs, unknown, FetchBaseQueryError> =
  async (args, api, extra) => {
    let result = await raw(args, api, extra);
    if (result.error?.status === 401) {
      let token: string | null = null;
      try {
        token = await refreshAccessToken();
      } catch {
        return result; // network down: keep the 401; the offline banner explains
      }
      if (token) {
        api.dispatch(tokenReceived(token));
        const retry: FetchArgs = typeof args === 'string' ? { url: args } : { ...args };
        const headers = new Headers(retry.headers as HeadersInit | undefined);
        headers.set('Authorization', `Bearer ${token}`);
        retry.headers = headers;
        result = await raw(retry, api, extra);
      } else {
        api.dispatch(signedOut());
      }
    }
    return result;
  };
