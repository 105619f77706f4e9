import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, errorText } from '../api';
import { AuthImage, ErrorBox, Field, when } from '../ui';
import { qualityIssueWords } from '../../src/domain/words';

interface Subject { id: string; displayName: string; category: string; watchlist: string; legalBasis: string; caseRef: string | null; reviewBy: string | null; organization: string; createdAt: string }
interface Box { x: number; y: number; width: number; height: number }
interface Enrolment { box?: Box; boxes?: Box[]; score?: number; issues?: string[]; ok: boolean; message: string }
const CATEGORIES = ['fraud', 'money_laundering', 'sanctions', 'other'];

/** The uploaded photo with the detected face box(es) drawn on it and the quality verdict beside it. */
function QualityOnPhoto(p: { file: File; result: Enrolment; size: { w: number; h: number } | null }) {
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
        {url && <img src={url} alt="The photo you enrolled, with the detected face marked" />}
        {p.size && (
          <svg viewBox={`0 0 ${p.size.w} ${p.size.h}`} preserveAspectRatio="none" aria-hidden="true">
            {boxes.map((b, i) => <rect key={i} x={b.x} y={b.y} width={b.width} height={b.height} class={p.result.ok ? 'facebox' : 'facebox bad'} vector-effect="non-scaling-stroke" />)}
          </svg>
        )}
      </div>
      <figcaption class={p.result.ok ? 'ok' : 'error'}>
        {p.result.ok ? 'Enrolled. ' : 'Not enrolled: '}
        {p.result.message}
        {p.result.score !== undefined && ` Quality ${p.result.score.toFixed(2)}.`}
        {p.result.issues?.length ? ` Issues: ${p.result.issues.map(qualityIssueWords).join('; ')}.` : ''}
      </figcaption>
    </figure>
  );
}

function SubjectPanel(p: { subject: Subject; onErased: () => void }) {
  const s = p.subject;
  const [faces, setFaces] = useState<Array<{ id: string; quality: { score: number } }>>([]);
  const [file, setFile] = useState<File | null>(null);
  const [size, setSize] = useState<{ w: number; h: number } | null>(null);
  const [enrol, setEnrol] = useState<Enrolment | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [receipt, setReceipt] = useState<Record<string, unknown> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = () => api<{ faces: typeof faces }>(`/v1/subjects/${s.id}`).then((x) => setFaces(x.faces)).catch((e) => setError(errorText(e)));
  useEffect(() => void load(), [s.id]);

  const upload = async (e: Event) => {
    e.preventDefault();
    if (!file) return;
    const bmp = await createImageBitmap(file).catch(() => null);
    setSize(bmp ? { w: bmp.width, h: bmp.height } : null);
    const form = new FormData();
    form.append('image', file);
    try {
      const r = await api<{ quality: { score: number; issues: string[] }; box: Box }>(`/v1/subjects/${s.id}/faces`, { form });
      setEnrol({ ok: true, box: r.box, score: r.quality.score, issues: r.quality.issues, message: 'One usable face found.' });
      void load();
    } catch (err) {
      const d = (err instanceof ApiError ? err.details : null) as { score?: number; issues?: string[]; boxes?: Box[] } | null;
      setEnrol({ ok: false, message: errorText(err), score: d?.score, issues: d?.issues, boxes: d?.boxes });
    }
  };
  const erase = async () => {
    try {
      setReceipt(await api<Record<string, unknown>>(`/v1/subjects/${s.id}`, { method: 'DELETE' }));
    } catch (err) {
      setError(errorText(err));
    }
  };

  if (receipt) {
    return (
      <section aria-labelledby="receipt-h" class="panel">
        <h2 id="receipt-h" tabIndex={-1}>Erasure receipt</h2>
        <dl class="meta">
          {Object.entries(receipt).map(([k, v]) => [<dt key={`${k}t`}>{k}</dt>, <dd key={`${k}d`}><code>{String(v)}</code></dd>])}
        </dl>
        <button type="button" onClick={p.onErased}>Back to the gallery</button>
      </section>
    );
  }
  return (
    <section aria-labelledby="subject-h" class="panel">
      <h2 id="subject-h">{s.displayName}</h2>
      <p>{s.category.replace('_', ' ')} · watchlist {s.watchlist} · legal basis {s.legalBasis}{s.reviewBy ? ` · review by ${s.reviewBy}` : ''} · created {when(s.createdAt)}</p>
      <div class="row">
        {faces.length === 0 && <p>No face enrolled yet.</p>}
        {faces.map((f) => <AuthImage key={f.id} path={`/v1/subjects/${s.id}/faces/${f.id}/image?variant=crop`} alt={`Enrolled face, quality ${f.quality.score.toFixed(2)}`} size={96} />)}
      </div>
      <form onSubmit={upload} class="inline">
        <Field label="Enrol a photo (exactly one face)" id="enrol-file">
          <input id="enrol-file" type="file" accept="image/jpeg,image/png,image/webp" required onChange={(e) => { setFile(e.currentTarget.files?.[0] ?? null); setEnrol(null); }} />
        </Field>
        <button type="submit">Enrol photo</button>
      </form>
      {file && enrol && <QualityOnPhoto file={file} result={enrol} size={size} />}
      <h3>Erase</h3>
      {!confirming ? (
        <button type="button" class="danger" onClick={() => setConfirming(true)}>Erase this subject…</button>
      ) : (
        <p role="alert">
          Erase {s.displayName}, every template and image? This cannot be undone.{' '}
          <button type="button" class="danger" onClick={erase}>Erase permanently</button>{' '}
          <button type="button" class="secondary" onClick={() => setConfirming(false)}>Cancel</button>
        </p>
      )}
      <ErrorBox error={error} />
    </section>
  );
}

function CreateSubject(p: { onCreated: (s: Subject) => void }) {
  const [f, setF] = useState({ displayName: '', category: 'fraud', watchlist: '', legalBasis: '', caseRef: '', reviewBy: '' });
  const [error, setError] = useState<string | null>(null);
  const set = (k: keyof typeof f) => (e: Event) => setF({ ...f, [k]: (e.currentTarget as HTMLInputElement).value });
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      const body = { ...f, caseRef: f.caseRef || undefined, reviewBy: f.reviewBy || undefined };
      p.onCreated(await api<Subject>('/v1/subjects', { json: body }));
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <form onSubmit={submit} class="grid-form" aria-labelledby="create-h">
      <h2 id="create-h">New subject</h2>
      <Field label="Name" id="new-name"><input id="new-name" required value={f.displayName} onInput={set('displayName')} /></Field>
      <Field label="Category" id="new-category">
        <select id="new-category" value={f.category} onChange={set('category')}>{CATEGORIES.map((c) => <option key={c} value={c}>{c.replace('_', ' ')}</option>)}</select>
      </Field>
      <Field label="Watchlist" id="new-watchlist"><input id="new-watchlist" required value={f.watchlist} onInput={set('watchlist')} /></Field>
      <Field label="Legal basis" id="new-legal"><input id="new-legal" required value={f.legalBasis} onInput={set('legalBasis')} /></Field>
      <Field label="Case reference (optional)" id="new-case"><input id="new-case" value={f.caseRef} onInput={set('caseRef')} /></Field>
      <Field label="Review by (optional)" id="new-review"><input id="new-review" type="date" value={f.reviewBy} onInput={set('reviewBy')} /></Field>
      <button type="submit">Create subject</button>
      <ErrorBox error={error} />
    </form>
  );
}

export function GalleryView() {
  const [q, setQ] = useState({ q: '', watchlist: '', category: '', due: false });
  const [items, setItems] = useState<Subject[]>([]);
  const [selected, setSelected] = useState<Subject | null>(null);
  const [error, setError] = useState<string | null>(null);
  const search = (e?: Event) => {
    e?.preventDefault();
    const p = new URLSearchParams({ limit: '100' });
    if (q.q) p.set('q', q.q);
    if (q.watchlist) p.set('watchlist', q.watchlist);
    if (q.category) p.set('category', q.category);
    if (q.due) p.set('due', 'true');
    api<{ items: Subject[] }>(`/v1/subjects?${p}`).then((r) => setItems(r.items)).catch((err) => setError(errorText(err)));
  };
  useEffect(() => search(), []);
  if (selected) {
    return (
      <>
        <button type="button" class="secondary" onClick={() => { setSelected(null); search(); }}>← All subjects</button>
        <SubjectPanel subject={selected} onErased={() => { setSelected(null); search(); }} />
      </>
    );
  }
  return (
    <>
      <h1>Gallery</h1>
      <form onSubmit={search} class="inline" aria-label="Find subjects">
        <Field label="Name" id="f-q"><input id="f-q" value={q.q} onInput={(e) => setQ({ ...q, q: e.currentTarget.value })} /></Field>
        <Field label="Watchlist" id="f-wl"><input id="f-wl" value={q.watchlist} onInput={(e) => setQ({ ...q, watchlist: e.currentTarget.value })} /></Field>
        <Field label="Category" id="f-cat">
          <select id="f-cat" value={q.category} onChange={(e) => setQ({ ...q, category: e.currentTarget.value })}>
            <option value="">any</option>
            {CATEGORIES.map((c) => <option key={c} value={c}>{c.replace('_', ' ')}</option>)}
          </select>
        </Field>
        <label class="check"><input type="checkbox" checked={q.due} onChange={(e) => setQ({ ...q, due: e.currentTarget.checked })} /> Due for review</label>
        <button type="submit">Find</button>
      </form>
      <ErrorBox error={error} />
      <ul class="subjects" aria-label="Subjects">
        {items.map((s) => (
          <li key={s.id}><button type="button" class="secondary" onClick={() => setSelected(s)}>{s.displayName} · {s.category.replace('_', ' ')} · {s.watchlist}</button></li>
        ))}
        {items.length === 0 && <li>No subject matches.</li>}
      </ul>
      <CreateSubject onCreated={setSelected} />
    </>
  );
}
