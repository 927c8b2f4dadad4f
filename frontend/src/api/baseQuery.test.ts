import { afterEach, describe, expect, it, vi } from 'vitest';
import { signedIn } from '../auth/authSlice';
import { makeStore } from '../store';
import { api } from '.';

const user = { id: 'u1', email: 'a@example.com', role: 'analyst' as const };
const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

function stubFetch(handler: (url: string, auth: string | null) => Response) {
  const calls: { url: string; auth: string | null }[] = [];
  vi.stubGlobal('fetch', vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(new URL(String(input), 'http://t'), init);
    const url = new URL(request.url).pathname;
    const auth = request.headers.get('Authorization');
    calls.push({ url, auth });
    return handler(url, auth);
  }));
  return calls;
}

afterEach(() => vi.unstubAllGlobals());

describe('baseQueryWithReauth', () => {
  it('refreshes the access token on a 401 and retries once', async () => {
    const calls = stubFetch((url, auth) => {
      if (url === '/api/v1/auth/refresh') return json(200, { access_token: 'fresh' });
      return auth === 'Bearer fresh' ? json(200, { items: [], total: 0 }) : json(401, { detail: 'expired' });
    });
    const store = makeStore();
    store.dispatch(signedIn({ token: 'stale', user }));
    const result = await store.dispatch(api.endpoints.getApiV1Datasets.initiate({}));
    expect(result.data).toEqual({ items: [], total: 0 });
    expect(store.getState().auth.accessToken).toBe('fresh');
    expect(calls.map((c) => c.url)).toEqual(['/api/v1/datasets', '/api/v1/auth/refresh', '/api/v1/datasets']);
  });

  it('signs out when the refresh cookie is no longer valid', async () => {
    stubFetch((url) => (url === '/api/v1/auth/refresh' ? json(401, { detail: 'spent' }) : json(401, {})));
    const store = makeStore();
    store.dispatch(signedIn({ token: 'stale', user }));
    const result = await store.dispatch(api.endpoints.getApiV1Datasets.initiate({}));
    expect(result.error).toMatchObject({ status: 401 });
    expect(store.getState().auth.status).toBe('anonymous');
  });

  it('shares one refresh between concurrent 401s', async () => {
    const calls = stubFetch((url, auth) => {
      if (url === '/api/v1/auth/refresh') return json(200, { access_token: 'fresh' });
      return auth === 'Bearer fresh' ? json(200, { items: [], total: 0 }) : json(401, {});
    });
    const store = makeStore();
    store.dispatch(signedIn({ token: 'stale', user }));
    await Promise.all([
      store.dispatch(api.endpoints.getApiV1Datasets.initiate({})),
      store.dispatch(api.endpoints.getApiV1Jobs.initiate({})),
    ]);
    expect(calls.filter((c) => c.url === '/api/v1/auth/refresh')).toHaveLength(1);
  });
});
