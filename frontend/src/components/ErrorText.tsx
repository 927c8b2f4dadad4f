import type { SerializedError } from '@reduxjs/toolkit';
import type { FetchBaseQueryError } from '@reduxjs/toolkit/query';
import { problemMessage } from '../api/problem';

export function ErrorText({ error }: { error: FetchBaseQueryError | SerializedError | undefined }) {
  if (!error) return null;
  return <p role="alert" className="error">{problemMessage(error)}</p>;
}
