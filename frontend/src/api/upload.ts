import { refreshAccessToken } from './baseQuery';

export type UploadResult = { status: number; body: unknown };

function send(form: FormData, token: string | null, onProgress: (f: number) => void,
              path = '/api/v1/datasets'): Promise<UploadResult> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
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
  file: Blob, name: string, token: string | null, onProgress: (fraction: number) => void,
  onToken: (token: string) => void, options: { schema?: Record<string, string>; path?: string; filename?: string } = {},
): Promise<UploadResult> {
  const form = () => {
    const f = new FormData();
    f.append('file', file, options.filename ?? (file instanceof File ? file.name : 'upload'));
    if (name) f.append('name', name);
    if (options.schema && Object.keys(options.schema).length) f.append('schema', JSON.stringify(options.schema));
    return f;
  };
  let result = await send(form(), token, onProgress, options.path);
  if (result.status === 401) {
    const fresh = await refreshAccessToken();
    if (fresh) {
      onToken(fresh);
      result = await send(form(), fresh, onProgress, options.path);
    }
  }
  return result;
}

const HEAD_BYTES = 1 << 20;

/** The head of a text file (at most 1 MB, cut after its last complete line), for the
 * server's type inspection; a Parquet file is sent whole (its schema is in its footer). */
export async function fileHead(file: File): Promise<Blob> {
  if (/\.parquet$/i.test(file.name) || file.size <= HEAD_BYTES) return file;
  const head = new Uint8Array(await file.slice(0, HEAD_BYTES).arrayBuffer());
  const end = head.lastIndexOf(10);
  return new Blob([end > 0 ? head.slice(0, end + 1) : head]);
}
