import { useEffect, useState } from 'preact/hooks';

/** The API key lives in sessionStorage only (gone when the tab closes), never localStorage. */
const KEY = 'facematch.apiKey';
export const session = {
  key: (): string | null => sessionStorage.getItem(KEY),
  set: (k: string) => sessionStorage.setItem(KEY, k),
  clear: () => sessionStorage.removeItem(KEY),
};

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly details?: unknown) {
    super(message);
  }
}

async function call(path: string, init: { method?: string; json?: unknown; form?: FormData; key?: string } = {}): Promise<Response> {
  const headers: Record<string, string> = { Authorization: `Bearer ${init.key ?? session.key() ?? ''}` };
  let body: BodyInit | undefined;
  if (init.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(init.json);
  } else if (init.form) body = init.form;
  const res = await fetch(path, { method: init.method ?? (body ? 'POST' : 'GET'), headers, body });
  if (!res.ok) {
    const e = (await res.json().catch(() => null)) as { error?: { code: string; message: string; details?: unknown } } | null;
    throw new ApiError(res.status, e?.error?.code ?? `HTTP_${res.status}`, e?.error?.message ?? res.statusText, e?.error?.details);
  }
  return res;
}

export const api = async <T>(path: string, init?: Parameters<typeof call>[1]): Promise<T> => (await call(path, init)).json() as Promise<T>;
export const apiText = async (path: string) => (await call(path)).text();
export const apiBlob = async (path: string) => (await call(path)).blob();

export const errorText = (e: unknown) => (e instanceof ApiError ? `${e.message} (${e.code})` : e instanceof Error ? e.message : String(e));

/** An authenticated image as a blob: URL (revoked when the path changes or the component goes). null while loading or absent. */
export function useBlobUrl(path: string | null): { url: string | null; failed: boolean } {
  const [state, setState] = useState<{ url: string | null; failed: boolean }>({ url: null, failed: false });
  useEffect(() => {
    let url: string | null = null;
    let live = true;
    setState({ url: null, failed: false });
    if (path) {
      apiBlob(path)
        .then((b) => {
          url = URL.createObjectURL(b);
          if (live) setState({ url, failed: false });
        })
        .catch(() => live && setState({ url: null, failed: true }));
    }
    return () => {
      live = false;
      if (url) URL.revokeObjectURL(url);
    };
  }, [path]);
  return state;
}

/** Saves a blob through a temporary download link. */
export function download(blob: Blob, name: string) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

/** Opens a case file (HTML fetched with the key) in a new tab, as a blob: page. */
export async function openReport(searchId: string) {
  const html = await apiText(`/v1/searches/${searchId}/report?format=html`);
  const url = URL.createObjectURL(new Blob([html], { type: 'text/html' }));
  window.open(url, '_blank', 'noopener');
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export interface Me {
  id: string;
  holder: string;
  organization: string;
  roles: string[];
  label: string | null;
}
