import { refreshAccessToken } from './baseQuery';

/** Download an authenticated API response as a file (a link cannot carry the token). */
export async function downloadFile(path: string, token: string | null, filename: string): Promise<void> {
  const get = (t: string | null) => fetch(path, { headers: t ? { Authorization: `Bearer ${t}` } : {} });
  let response = await get(token);
  if (response.status === 401) {
    const fresh = await refreshAccessToken();
    if (fresh) response = await get(fresh);
  }
  if (!response.ok) throw new Error(`The download failed (${response.status})`);
  const url = URL.createObjectURL(await response.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
