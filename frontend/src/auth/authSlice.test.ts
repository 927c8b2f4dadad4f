import { describe, expect, it } from 'vitest';
import { authSlice, canWrite, isAdmin, signedIn, signedOut, tokenReceived, wentOffline } from './authSlice';

const user = { id: 'u1', email: 'a@example.com', role: 'analyst' as const };

describe('authSlice', () => {
  it('keeps the token in memory and tracks the session', () => {
    let state = authSlice.reducer(undefined, { type: 'init' });
    expect(state.status).toBe('unknown');
    state = authSlice.reducer(state, signedIn({ token: 't1', user }));
    expect(state).toEqual({ accessToken: 't1', user, status: 'authenticated' });
    state = authSlice.reducer(state, tokenReceived('t2'));
    expect(state.accessToken).toBe('t2');
    state = authSlice.reducer(state, signedOut());
    expect(state).toEqual({ accessToken: null, user: null, status: 'anonymous' });
    state = authSlice.reducer(state, wentOffline(user));
    expect(state.status).toBe('offline');
    expect(state.accessToken).toBeNull();
  });

  it('maps roles to what the UI offers', () => {
    expect(canWrite('admin')).toBe(true);
    expect(canWrite('analyst')).toBe(true);
    expect(canWrite('viewer')).toBe(false);
    expect(canWrite(undefined)).toBe(false);
    expect(isAdmin('analyst')).toBe(false);
  });
});
