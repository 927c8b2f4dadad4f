import type { UserPublic } from '../api/generated';
import { refreshAccessToken } from '../api/baseQuery';
import { api } from '../api';
import type { AppDispatch } from '../store';
import { forgetEverything, lastUser, rememberUser } from '../offline/persist';
import { signedIn, signedOut, wentOffline, type SessionUser } from './authSlice';

export class LoginError extends Error {}

// Whether this browser has signed in (the refresh cookie itself is httpOnly): without it,
// start at the login page instead of asking the API for a refresh that must fail.
const SESSION_MARK = 'helio-session';
const markSession = (on: boolean) => {
  try {
    if (on) localStorage.setItem(SESSION_MARK, '1');
    else localStorage.removeItem(SESSION_MARK);
  } catch {
    /* storage disabled */
  }
};
const hasSession = (): boolean => {
  try {
    return localStorage.getItem(SESSION_MARK) === '1';
  } catch {
    return true;
  }
};

async function me(token: string): Promise<SessionUser> {
  const response = await fetch('/api/v1/users/me', { headers: { Authorization: `Bearer ${token}` } });
  if (!response.ok) throw new LoginError(`Could not load your profile (${response.status})`);
  const user = (await response.json()) as UserPublic;
  return { id: user.id, email: user.email, role: user.role };
}

/** Password login: the API sets the refresh cookie; the access token stays in memory. */
export async function login(dispatch: AppDispatch, email: string, password: string): Promise<void> {
  const response = await fetch('/api/v1/auth/token', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username: email, password }),
  });
  if (!response.ok) {
    const body = (await response.json().catch(() => ({}))) as { detail?: string };
    throw new LoginError(body.detail ?? `Sign-in failed (${response.status})`);
  }
  const { access_token: token } = (await response.json()) as { access_token: string };
  const user = await me(token);
  await rememberUser(user);
  markSession(true);
  dispatch(signedIn({ token, user }));
}

/** On start (and on reconnect): a new access token from the refresh cookie. Offline,
 * the last signed-in user's cached data is shown read-only. */
export async function restoreSession(dispatch: AppDispatch): Promise<void> {
  if (!hasSession()) {
    dispatch(signedOut());
    return;
  }
  let token: string | null;
  try {
    token = await refreshAccessToken();
  } catch {
    const user = await lastUser();
    dispatch(user ? wentOffline(user) : signedOut());
    return;
  }
  if (!token) {
    markSession(false);
    dispatch(signedOut());
    return;
  }
  try {
    const user = await me(token);
    await rememberUser(user);
    dispatch(signedIn({ token, user }));
  } catch {
    const user = await lastUser();
    dispatch(user ? wentOffline(user) : signedOut());
  }
}

export async function logout(dispatch: AppDispatch, token: string | null): Promise<void> {
  try {
    await fetch('/api/v1/auth/logout', {
      method: 'POST',
      credentials: 'same-origin',
      headers: token ? { Authorization: `Bearer ${token}` } : {},
    });
  } finally {
    markSession(false);
    await forgetEverything();
    dispatch(api.util.resetApiState());
    dispatch(signedOut());
  }
}
