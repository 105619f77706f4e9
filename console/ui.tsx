import type { ComponentChildren } from 'preact';
import { useBlobUrl } from './api';

/** An authenticated face image; a labelled placeholder when it cannot be shown (purged, erased, not allowed). */
export function AuthImage(p: { path: string | null; alt: string; size?: number; missing?: string; class?: string }) {
  const { url, failed } = useBlobUrl(p.path);
  const size = p.size ?? 112;
  if (url) return <img class={p.class ?? 'thumb'} src={url} alt={p.alt} width={size} height={size} />;
  return (
    <span class="thumb placeholder" role="img" aria-label={failed ? (p.missing ?? `${p.alt}: not available`) : `${p.alt}: loading`} style={{ width: `${size}px`, height: `${size}px` }}>
      {failed ? (p.missing ?? 'not available') : '…'}
    </span>
  );
}

export function ErrorBox(p: { error: string | null }) {
  return p.error ? <p class="error" role="alert">Error: {p.error}</p> : null;
}

export function Field(p: { label: string; id: string; children: ComponentChildren; hint?: string }) {
  return (
    <div class="field">
      <label for={p.id}>{p.label}</label>
      {p.children}
      {p.hint && <small id={`${p.id}-hint`}>{p.hint}</small>}
    </div>
  );
}

export const fmr = (x: number) => (x < 0.001 ? x.toExponential(1) : x.toFixed(4));
export const when = (iso: string) => new Date(iso).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
