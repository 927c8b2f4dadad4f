import { refreshAccessToken } from './baseQuery';

export type UploadResult = { status: number; body: unknown };

function send(form: FormData, token: string | null, onProgress: (f: number) => void): Promise<UploadResult> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/v1/datasets');
    if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () => {
      let body: unknown = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = { detail: xhr.statusText };
      }
      resolve({ status: xhr.status, body });
    };
    xhr.onerror = () => reject(new Error('The upload failed: the server cannot be reached'));
    xhr.send(form);
  });
}

/** Multipart upload with progress (fetch cannot report upload progress); refreshes the
 * access token once on a 401. */
export async function uploadDataset(
  file: File, name: string, token: string | null, onProgress: (fraction: number) => void,
  onToken: (token: string) => void,
): Promise<UploadResult> {
  const form = () => {
    const f = new FormData();
    f.append('file', file);
    if (name) f.append('name', name);
    return f;
  };
  let result = await send(form(), token, onProgress);
  if (result.status === 401) {
    const fresh = await refreshAccessToken();
    if (fresh) {
      onToken(fresh);
      result = await send(form(), fresh, onProgress);
    }
  }
  return result;
}
