import { createSlice, type PayloadAction } from '@reduxjs/toolkit';
import type { Role } from '../api/generated';

export type SessionUser = { id: string; email: string; role: Role };

export type AuthState = {
  // The access token lives only in memory; the refresh token is an httpOnly cookie.
  accessToken: string | null;
  user: SessionUser | null;
  // unknown: still trying the refresh cookie; offline: showing the last user's cached data.
  status: 'unknown' | 'authenticated' | 'anonymous' | 'offline';
};

const initialState: AuthState = { accessToken: null, user: null, status: 'unknown' };

export const authSlice = createSlice({
  name: 'auth',
  initialState,
  reducers: {
    tokenReceived(state, action: PayloadAction<string>) {
      state.accessToken = action.payload;
    },
    signedIn(state, action: PayloadAction<{ token: string; user: SessionUser }>) {
      state.accessToken = action.payload.token;
      state.user = action.payload.user;
      state.status = 'authenticated';
    },
    signedOut(state) {
      state.accessToken = null;
      state.user = null;
      state.status = 'anonymous';
    },
    wentOffline(state, action: PayloadAction<SessionUser>) {
      state.user = action.payload;
      state.status = 'offline';
    },
  },
});

export const { tokenReceived, signedIn, signedOut, wentOffline } = authSlice.actions;

export const canWrite = (role: Role | undefined): boolean => role === 'admin' || role === 'analyst';
export const isAdmin = (role: Role | undefined): boolean => role === 'admin';
