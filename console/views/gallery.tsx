import { useEffect, useState } from 'preact/hooks';
import { ApiError, api } from '../api';
import { useI18n } from '../i18n';
import { useSettings } from '../settings';
import { AuthImage, ErrorBox, Field, QualityText } from '../ui';
import { useWatchlists, watchlistLabel } from '../watchlist-picker';
import { categoryWords } from '../../src/shared/words';

interface Subject { id: string; displayName: string; category: string; watchlist: string; legalBasis: string; caseRef: string | null; reviewBy: string | null; organization: string; createdAt: string }
interface Box { x: number; y: number; width: number; height: number }
interface Enrolment {
  ok: boolean;
  box?: Box;
  boxes?: Box[];
  score?: number;
  issues?: string[];
  error?: unknown;
  /** MULTIPLE_FACES: the enroller picks one of `boxes` (faceIndex counts in their order). */
  pick?: boolean;
  /** LOW_QUALITY between the floor and the gate, and the watchlist's policy allows an overrule: "Enrol anyway". */
  overrulable?: boolean;
  /** LOW_QUALITY above the floor that the watchlist's policy (never) does not let the enroller overrule. */
  policyNever?: boolean;
  /** Enrolled below the gate (the enroller's overrule or the watchlist's policy). */
  overruled?: boolean;
}
/** What a retry sends beside the photo: the face chosen, the quality accepted. */
interface Retry { faceIndex?: number; acceptQuality?: boolean }
const CATEGORIES = ['fraud', 'money_laundering', 'sanctions', 'other'];

/**
 * The uploaded photo with the detected face box(es) drawn on it and the quality verdict beside it. Refused with
 * MULTIPLE_FACES, every face is a button over its box (click it, or Tab to it and press Enter) that enrols that face; refused
 * for quality where an overrule is allowed, "Enrol anyway" sends the photo again with acceptQuality=true.
 */
function QualityOnPhoto(p: { file: File; result: Enrolment; size: { w: number; h: number } | null; onRetry: (r: Retry) => void }) {
  const { t } = useI18n();
  const { raw } = useSettings();
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    const u = URL.createObjectURL(p.file);
    setUrl(u);
    return () => URL.revokeObjectURL(u);
  }, [p.file]);
  const boxes = p.result.boxes ?? (p.result.box ? [p.result.box] : []);
  return (
    <figure class="probe">
      <div class="probe-frame">
        {url && <img src={url} alt={t.gallery.enrolledPhoto} />}
        {p.size && (
          <svg viewBox={`0 0 ${p.size.w} ${p.size.h}`} preserveAspectRatio="none" aria-hidden="true">
            {boxes.map((b, i) => <rect key={i} x={b.x} y={b.y} width={b.width} height={b.height} class={p.result.ok ? 'facebox' : 'facebox bad'} vector-effect="non-scaling-stroke" />)}
          </svg>
        )}
        {p.size && p.result.pick && (
          <ul class="face-picker" aria-label={t.gallery.pickFaces(boxes.length)}>
            {boxes.map((b, i) => {
              const at = (v: number, of: number) => `${(100 * v) / of}%`;
              return (
                <li key={i} style={{ left: at(b.x, p.size!.w), top: at(b.y, p.size!.h), width: at(b.width, p.size!.w), height: at(b.height, p.size!.h) }}>
                  <button type="button" class="face-pick" onClick={() => p.onRetry({ faceIndex: i })} aria-label={t.gallery.pickFace(i + 1, boxes.length)}>
                    {i + 1}
                  </button>
                </li>
              );
            })}
          </ul>
        )}
      </div>
      <figcaption class={p.result.ok ? 'ok' : 'error'}>
        {p.result.ok ? `${t.gallery.enrolled} ${t.gallery.oneFace} ${p.result.overruled ? t.gallery.overruled : ''}` : <>{t.gallery.notEnrolled} <ErrorBox error={p.result.error} /></>}
        {p.result.score !== undefined && <QualityText quality={{ score: p.result.score, issues: p.result.issues ?? [] }} min={raw.quality.enrolMinQuality} />}
        {p.result.pick && <p>{t.gallery.pickHint}</p>}
        {p.result.policyNever && <p>{t.gallery.policyNever}</p>}
        {p.result.overrulable && (
          <p>
            {t.gallery.overrulableHint}{' '}
            <button type="button" class="secondary" onClick={() => p.onRetry({ acceptQuality: true })}>{t.gallery.acceptAnyway}</button>
          </p>
        )}
      </figcaption>
    </figure>
  );
}

function SubjectPanel(p: { subject: Subject; onErased: () => void }) {
  const { t, fmt, locale } = useI18n();
  const s = p.subject;
  const [faces, setFaces] = useState<Array<{ id: string; quality: { score: number } }>>([]);
  const [file, setFile] = useState<File | null>(null);
  const [size, setSize] = useState<{ w: number; h: number } | null>(null);
  const [enrol, setEnrol] = useState<Enrolment | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [receipt, setReceipt] = useState<Record<string, unknown> | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = () => api<{ faces: typeof faces }>(`/v1/subjects/${s.id}`).then((x) => setFaces(x.faces)).catch(setError);
  useEffect(() => void load(), [s.id]);

  /** The face chosen for this photo (kept when the chosen face then needs the quality overrule). */
  const [faceIndex, setFaceIndex] = useState<number | undefined>(undefined);
  const send = async (retry: Retry, fresh = false) => {
    if (!file) return;
    const bmp = await createImageBitmap(file).catch(() => null);
    setSize(bmp ? { w: bmp.width, h: bmp.height } : null);
    const chosen = fresh ? undefined : (retry.faceIndex ?? faceIndex);
    setFaceIndex(chosen);
    const form = new FormData();
    form.append('image', file);
    if (chosen !== undefined) form.append('faceIndex', String(chosen));
    if (retry.acceptQuality) form.append('acceptQuality', 'true');
    try {
      const r = await api<{ quality: { score: number; issues: string[] }; box: Box; qualityOverruled: boolean }>(`/v1/subjects/${s.id}/faces`, { form });
      setEnrol({ ok: true, box: r.box, score: r.quality.score, issues: r.quality.issues, overruled: r.qualityOverruled });
      setFaceIndex(undefined);
      void load();
    } catch (err) {
      const code = err instanceof ApiError ? err.code : '';
      const d = (err instanceof ApiError ? err.details : null) as { score?: number; issues?: string[]; boxes?: Box[]; overrulable?: boolean; policy?: string; floor?: number } | null;
      setEnrol({ ok: false, error: err, score: d?.score, issues: d?.issues, boxes: d?.boxes, pick: code === 'MULTIPLE_FACES' && !!d?.boxes?.length, overrulable: code === 'LOW_QUALITY' && d?.overrulable === true, policyNever: code === 'LOW_QUALITY' && d?.policy === 'never' && (d.score ?? 0) >= (d.floor ?? 0) });
    }
  };
  const upload = (e: Event) => {
    e.preventDefault();
    void send({}, true);
  };
  const erase = async () => {
    try {
      setReceipt(await api<Record<string, unknown>>(`/v1/subjects/${s.id}`, { method: 'DELETE' }));
    } catch (err) {
      setError(err);
    }
  };

  if (receipt) {
    return (
      <section aria-labelledby="receipt-h" class="panel">
        <h2 id="receipt-h" tabIndex={-1}>{t.gallery.receipt}</h2>
        <dl class="meta">
          {Object.entries(receipt).map(([k, v]) => [<dt key={`${k}t`}>{k}</dt>, <dd key={`${k}d`}><code>{String(v)}</code></dd>])}
        </dl>
        <button type="button" onClick={p.onErased}>{t.gallery.backToGallery}</button>
      </section>
    );
  }
  return (
    <section aria-labelledby="subject-h" class="panel">
      <h2 id="subject-h">{s.displayName}</h2>
      <p>
        {t.gallery.meta(categoryWords(s.category, locale), s.watchlist, s.legalBasis)}
        {s.reviewBy ? t.gallery.reviewByMeta(fmt.date(s.reviewBy)) : ''}
        {t.gallery.createdMeta(fmt.dateTime(s.createdAt))}
      </p>
      <div class="row">
        {faces.length === 0 && <p>{t.gallery.noFace}</p>}
        {faces.map((f) => <AuthImage key={f.id} path={`/v1/subjects/${s.id}/faces/${f.id}/image?variant=crop`} alt={t.gallery.enrolledFace(fmt.number(f.quality.score, 2))} size={96} />)}
      </div>
      <form onSubmit={upload} class="inline">
        <Field label={t.gallery.enrol} id="enrol-file">
          <input id="enrol-file" type="file" accept="image/jpeg,image/png,image/webp" required onChange={(e) => { setFile(e.currentTarget.files?.[0] ?? null); setEnrol(null); setFaceIndex(undefined); }} />
        </Field>
        <button type="submit">{t.gallery.enrolButton}</button>
      </form>
      {file && enrol && <QualityOnPhoto file={file} result={enrol} size={size} onRetry={(r) => void send(r)} />}
      <h3>{t.gallery.erase}</h3>
      {!confirming ? (
        <button type="button" class="danger" onClick={() => setConfirming(true)}>{t.gallery.eraseButton}</button>
      ) : (
        <p role="alert">
          {t.gallery.eraseConfirm(s.displayName)}{' '}
          <button type="button" class="danger" onClick={erase}>{t.gallery.erasePermanently}</button>{' '}
          <button type="button" class="secondary" onClick={() => setConfirming(false)}>{t.common.cancel}</button>
        </p>
      )}
      <ErrorBox error={error} />
    </section>
  );
}

function CreateSubject(p: { onCreated: (s: Subject) => void }) {
  const { t, locale } = useI18n();
  const watchlists = useWatchlists();
  const owned = (watchlists.items ?? []).filter((w) => w.access === 'owner');
  const [f, setF] = useState({ displayName: '', category: 'fraud', watchlist: '', legalBasis: '', caseRef: '', reviewBy: '' });
  const [error, setError] = useState<unknown>(null);
  const set = (k: keyof typeof f) => (e: Event) => setF({ ...f, [k]: (e.currentTarget as HTMLInputElement).value });
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      const body = { ...f, watchlist: f.watchlist || owned[0]?.id || '', caseRef: f.caseRef || undefined, reviewBy: f.reviewBy || undefined };
      p.onCreated(await api<Subject>('/v1/subjects', { json: body }));
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form onSubmit={submit} class="grid-form" aria-labelledby="create-h">
      <h2 id="create-h">{t.gallery.newSubject}</h2>
      {watchlists.items && owned.length === 0 && <p class="notice">{t.gallery.noWatchlist}</p>}
      <Field label={t.gallery.name} id="new-name"><input id="new-name" required value={f.displayName} onInput={set('displayName')} /></Field>
      <Field label={t.gallery.category} id="new-category">
        <select id="new-category" value={f.category} onChange={set('category')}>{CATEGORIES.map((c) => <option key={c} value={c}>{categoryWords(c, locale)}</option>)}</select>
      </Field>
      <Field label={t.gallery.watchlist} id="new-watchlist">
        <select id="new-watchlist" required value={f.watchlist || owned[0]?.id || ''} onChange={set('watchlist')}>
          {owned.map((w) => <option key={w.id} value={w.id}>{w.name}</option>)}
        </select>
      </Field>
      <Field label={t.gallery.legalBasis} id="new-legal"><input id="new-legal" required value={f.legalBasis} onInput={set('legalBasis')} /></Field>
      <Field label={t.gallery.caseRef} id="new-case"><input id="new-case" value={f.caseRef} onInput={set('caseRef')} /></Field>
      <Field label={t.gallery.reviewBy} id="new-review"><input id="new-review" type="date" value={f.reviewBy} onInput={set('reviewBy')} /></Field>
      <button type="submit" disabled={owned.length === 0}>{t.gallery.create}</button>
      <ErrorBox error={error ?? watchlists.error} />
    </form>
  );
}

export function GalleryView() {
  const { t, locale } = useI18n();
  const watchlists = useWatchlists();
  const [q, setQ] = useState({ q: '', watchlist: '', category: '', due: false });
  const [items, setItems] = useState<Subject[]>([]);
  const [selected, setSelected] = useState<Subject | null>(null);
  const [error, setError] = useState<unknown>(null);
  const search = (e?: Event) => {
    e?.preventDefault();
    const p = new URLSearchParams({ limit: '100' });
    if (q.q) p.set('q', q.q);
    if (q.watchlist) p.set('watchlist', q.watchlist);
    if (q.category) p.set('category', q.category);
    if (q.due) p.set('due', 'true');
    api<{ items: Subject[] }>(`/v1/subjects?${p}`).then((r) => setItems(r.items)).catch(setError);
  };
  useEffect(() => search(), []);
  if (selected) {
    return (
      <>
        <button type="button" class="secondary" onClick={() => { setSelected(null); search(); }}>{t.gallery.back}</button>
        <SubjectPanel subject={selected} onErased={() => { setSelected(null); search(); }} />
      </>
    );
  }
  return (
    <>
      <h1>{t.gallery.title}</h1>
      <form onSubmit={search} class="inline" aria-label={t.gallery.find}>
        <Field label={t.gallery.name} id="f-q"><input id="f-q" value={q.q} onInput={(e) => setQ({ ...q, q: e.currentTarget.value })} /></Field>
        <Field label={t.gallery.watchlist} id="f-wl">
          <select id="f-wl" value={q.watchlist} onChange={(e) => setQ({ ...q, watchlist: e.currentTarget.value })}>
            <option value="">{t.common.any}</option>
            {(watchlists.items ?? []).map((w) => <option key={w.id} value={w.id}>{watchlistLabel(w, t.search.access)}</option>)}
          </select>
        </Field>
        <Field label={t.gallery.category} id="f-cat">
          <select id="f-cat" value={q.category} onChange={(e) => setQ({ ...q, category: e.currentTarget.value })}>
            <option value="">{t.common.any}</option>
            {CATEGORIES.map((c) => <option key={c} value={c}>{categoryWords(c, locale)}</option>)}
          </select>
        </Field>
        <label class="check"><input type="checkbox" checked={q.due} onChange={(e) => setQ({ ...q, due: e.currentTarget.checked })} /> {t.gallery.due}</label>
        <button type="submit">{t.gallery.findButton}</button>
      </form>
      <ErrorBox error={error} />
      <ul class="subjects" aria-label={t.gallery.subjects}>
        {items.map((s) => (
          <li key={s.id}><button type="button" class="secondary" onClick={() => setSelected(s)}>{s.displayName} · {categoryWords(s.category, locale)} · {s.watchlist}</button></li>
        ))}
        {items.length === 0 && <li>{t.gallery.noMatch}</li>}
      </ul>
      <CreateSubject onCreated={setSelected} />
    </>
  );
}
