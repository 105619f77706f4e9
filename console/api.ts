import { useEffect, useState } from 'preact/hooks';

/** The API key lives in sessionStorage only (gone when the tab closes), never localStorage. */
const KEY = 'facematch.apiKey';
export const session = {
  key: (): string | null => sessionStorage.getItem(KEY),
  set: (k: string) => sessionStorage.setItem(KEY, k),
  clear: () => {
    sessionStorage.removeItem(KEY);
    forgetImages();
  },
};

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly details?: unknown) {
    super(message);
  }
}

/** The console's language, sent with every call (the case file is rendered in it; error codes never change). */
let language = 'en';
export const setApiLanguage = (l: string) => {
  language = l;
};

async function call(path: string, init: { method?: string; json?: unknown; form?: FormData; key?: string } = {}): Promise<Response> {
  const headers: Record<string, string> = { Authorization: `Bearer ${init.key ?? session.key() ?? ''}`, 'Accept-Language': language };
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

/**
 * Face crops shown several times on one screen (the review queue shows a probe face beside each of its candidates) are fetched
 * once: the last CACHE_LIMIT paths are kept for this tab, forgotten on sign-out. A failed fetch is not kept.
 */
const CACHE_LIMIT = 300;
const blobs = new Map<string, Promise<Blob>>();
export function cachedBlob(path: string): Promise<Blob> {
  const hit = blobs.get(path);
  if (hit) return hit;
  const p = apiBlob(path);
  blobs.set(path, p);
  p.catch(() => blobs.delete(path));
  if (blobs.size > CACHE_LIMIT) blobs.delete(blobs.keys().next().value!);
  return p;
}
export const forgetImages = () => blobs.clear();

/**
 * What a person reads for an error: the console's own words for a known code (in the chosen language) with the API's message
 * when it adds detail (validation), the code always shown; the API's message for codes the console does not know.
 */
export function errorText(e: unknown, words: Record<string, string>): string {
  if (!(e instanceof ApiError)) return e instanceof Error ? e.message : String(e);
  const own = words[e.code];
  if (!own) return `${e.message} (${e.code})`;
  return e.code === 'VALIDATION_FAILED' || e.code === 'PURPOSE_NOT_ALLOWED' ? `${own} ${e.message} (${e.code})` : `${own} (${e.code})`;
}

/** An authenticated image as a blob: URL (revoked when the path changes or the component goes). null while loading or absent. */
export function useBlobUrl(path: string | null): { url: string | null; failed: boolean } {
  const [state, setState] = useState<{ url: string | null; failed: boolean }>({ url: null, failed: false });
  useEffect(() => {
    let url: string | null = null;
    let live = true;
    setState({ url: null, failed: false });
    if (path) {
      cachedBlob(path)
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
  const html = await apiText(`/v1/searches/${searchId}/report?format=html&lang=${encodeURIComponent(language)}`);
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
