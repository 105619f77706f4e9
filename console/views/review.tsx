import { useEffect, useRef, useState } from 'preact/hooks';
import { api, type Me } from '../api';
import { useI18n } from '../i18n';
import { useSettings } from '../settings';
import { AuthImage, ErrorBox, Field, FmrScore, QualityText, ScoreLegend } from '../ui';
import { useWatchlists, watchlistLabel } from '../watchlist-picker';
import { CHECKLIST_FEATURES, CHECKLIST_VALUES } from '../../src/modules/review/review.checklist';
import { faceNumber } from '../../src/shared/scores';
import { checklistValueWords, decisionWords, featureWords, modeWords, oneInWords, reviewStateWords } from '../../src/shared/words';
import { Compare } from './compare';

/** GET /v1/reviews/queue/searches: searches with candidates for this reviewer, grouped search → face → candidates. */
interface QueueCandidate {
  rank: number; subjectId: string; displayName: string | null; category?: string; watchlist: string | null; watchlistId: string; faceId?: string;
  /** similarity, rate, category and faceId are absent on a withheld candidate (screen grant, or a grant no longer held). */
  similarity?: number; estimatedFalseMatchRate?: number; erased?: boolean; withheld?: 'screen' | 'no_access';
  review: { state: string; confirmations?: number; rejections?: number };
  ownDecision: string | null;
}
interface QueueFace { faceIndex: number; quality: { score: number; issues: string[] }; candidates: QueueCandidate[] }
interface QueueSearch { searchId: string; createdAt: string; mode: string; purpose: string; caseRef: string; organization: string; faces: QueueFace[] }
interface Page { items: QueueSearch[]; nextCursor: string | null }

/** One candidate in the queue, with where it sits. */
interface Item { search: QueueSearch; face: QueueFace; c: QueueCandidate; key: string; weak: boolean }
const keyOf = (s: QueueSearch, f: QueueFace, c: QueueCandidate) => `${s.searchId}:${f.faceIndex}:${c.subjectId}`;
const probePath = (i: Item) => `/v1/searches/${i.search.searchId}/faces/${i.face.faceIndex}/image`;
const candidatePath = (i: Item) => (i.c.withheld ? null : `/v1/searches/${i.search.searchId}/faces/${i.face.faceIndex}/candidates/${i.c.rank}/image`);

const DECISIONS = ['confirmed', 'rejected', 'inconclusive'] as const;
type Decision = (typeof DECISIONS)[number];

function OtherFaces(p: { subjectId: string; except: string }) {
  const { t } = useI18n();
  const [faces, setFaces] = useState<Array<{ id: string }> | null>(null);
  useEffect(() => {
    api<{ faces: Array<{ id: string }> }>(`/v1/subjects/${p.subjectId}`).then((s) => setFaces(s.faces)).catch(() => setFaces([]));
  }, [p.subjectId]);
  const others = (faces ?? []).filter((f) => f.id !== p.except);
  if (!faces) return <p>{t.review.otherFacesLoading}</p>;
  if (!others.length) return <p class="secondary-text">{t.review.noOtherFaces}</p>;
  return (
    <div class="row">
      {others.map((f) => <AuthImage key={f.id} path={`/v1/subjects/${p.subjectId}/faces/${f.id}/image?variant=crop`} alt={t.review.otherFaceAlt} size={80} />)}
    </div>
  );
}

function Decide(p: {
  item: Item;
  decision: Decision | '';
  setDecision: (d: Decision) => void;
  rationaleRef: { current: HTMLTextAreaElement | null };
  onDone: (msg: string, state: string, decision: Decision) => void;
}) {
  const { t, locale } = useI18n();
  const { item } = p;
  const [checklist, setChecklist] = useState<Record<string, string>>({});
  const [rationale, setRationale] = useState('');
  const [error, setError] = useState<unknown>(null);
  const form = useRef<HTMLFormElement>(null);
  const submit = async (e?: Event) => {
    e?.preventDefault();
    if (!p.decision) return setError(t.review.chooseDecision);
    if (!rationale.trim()) return setError(t.review.rationaleRequired);
    try {
      const r = await api<{ candidateReview: { state: string } }>(`/v1/searches/${item.search.searchId}/reviews`, {
        json: { faceIndex: item.face.faceIndex, subjectId: item.c.subjectId, decision: p.decision, rationale, checklist },
      });
      const state = r.candidateReview.state;
      p.onDone(t.review.recorded(decisionWords(p.decision, locale), reviewStateWords(state, locale)), state, p.decision);
    } catch (err) {
      setError(err);
    }
  };
  const label = (d: Decision) => (d === 'confirmed' ? t.review.confirm : d === 'rejected' ? t.review.reject : t.review.inconclusive);
  return (
    <form ref={form} onSubmit={submit} class="decide">
      <fieldset>
        <legend>{t.review.checklist}</legend>
        <table class="checklist">
          <thead><tr><th scope="col">{t.review.feature}</th>{CHECKLIST_VALUES.map((v) => <th scope="col" key={v}>{checklistValueWords(v, locale)}</th>)}</tr></thead>
          <tbody>
            {CHECKLIST_FEATURES.map((f) => (
              <tr key={f}>
                <th scope="row">{featureWords(f, locale)}</th>
                {CHECKLIST_VALUES.map((v) => (
                  <td key={v}>
                    <input type="radio" name={`feat-${f}`} value={v} aria-label={`${featureWords(f, locale)}: ${checklistValueWords(v, locale)}`} checked={checklist[f] === v} onChange={() => setChecklist({ ...checklist, [f]: v })} />
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </fieldset>
      <fieldset class="inline">
        <legend>{t.review.decision}</legend>
        {DECISIONS.map((d) => (
          <label key={d}><input type="radio" name="decision" value={d} checked={p.decision === d} onChange={() => p.setDecision(d)} required /> {label(d)}</label>
        ))}
      </fieldset>
      <Field label={t.review.rationale} id="rationale">
        <textarea
          id="rationale"
          ref={(el) => {
            p.rationaleRef.current = el;
          }}
          required
          rows={3}
          value={rationale}
          onInput={(e) => setRationale(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
              e.preventDefault();
              form.current?.requestSubmit();
            }
          }}
        />
      </Field>
      <button type="submit">{t.review.record}</button>
      <ErrorBox error={error} />
    </form>
  );
}

/** One candidate's row: both crops as thumbnails, name, rank, false-match rate in words with its scale. */
function CandidateRow(p: { item: Item; selected: boolean; onSelect: () => void }) {
  const { t, locale } = useI18n();
  const { c } = p.item;
  const name = c.withheld ? t.candidate.withheld(c.withheld) : (c.displayName ?? t.candidate.erased);
  return (
    <li>
      <button type="button" class={`queue-row ${p.selected ? 'selected' : 'secondary'}`} aria-pressed={p.selected} data-key={p.item.key} onClick={p.onSelect}>
        <AuthImage path={probePath(p.item)} alt={t.search.probeFace(faceNumber(p.item.face.faceIndex))} size={56} />
        <AuthImage path={candidatePath(p.item)} alt={t.candidate.enrolledAlt(name)} size={56} missing={t.candidate.enrolledMissing} />
        <span class="queue-text">
          <span class="cand-name">{t.review.candidateButton(c.rank, name)}</span>
          {c.estimatedFalseMatchRate !== undefined && <FmrScore fmr={c.estimatedFalseMatchRate} similarity={c.similarity} />}
          {(c.ownDecision || c.review.state === 'disputed') && (
            <span class="secondary-text">{c.ownDecision ? `${t.review.decidedMark}: ${decisionWords(c.ownDecision, locale)} · ` : ''}{reviewStateWords(c.review.state, locale)}</span>
          )}
        </span>
      </button>
    </li>
  );
}

export function ReviewView(p: { me: Me }) {
  const { t, fmt, locale } = useI18n();
  const settings = useSettings();
  const weakLimit = settings.raw.review.weakLeadFmr;
  const watchlists = useWatchlists();
  const [filters, setFilters] = useState({ sort: 'oldest', state: 'undecided', caseRef: '', watchlistId: '', organization: '' });
  const [applied, setApplied] = useState(filters);
  const [groups, setGroups] = useState<QueueSearch[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [decided, setDecided] = useState<Record<string, { decision: Decision; state: string }>>({});
  const [open, setOpen] = useState<Record<string, boolean>>({});
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [decision, setDecision] = useState<Decision | ''>('');
  const rationaleRef = useRef<HTMLTextAreaElement | null>(null);

  const query = (f: typeof filters, cursor?: string) => {
    const q = new URLSearchParams({ limit: '20', sort: f.sort, state: f.state });
    if (f.caseRef.trim()) q.set('caseRef', f.caseRef.trim());
    if (f.watchlistId) q.set('watchlistId', f.watchlistId);
    if (f.organization.trim()) q.set('organization', f.organization.trim());
    if (cursor) q.set('cursor', cursor);
    return `/v1/reviews/queue/searches?${q}`;
  };
  // Only the latest request may fill the list: an answer to filters the reviewer has since replaced (the first, unfiltered
  // load still in flight when Apply is pressed) must not overwrite the list or clear a selection made on the new one.
  const loadSeq = useRef(0);
  const load = async (f: typeof filters, cursor?: string) => {
    const mine = ++loadSeq.current;
    setError(null);
    try {
      const r = await api<Page>(query(f, cursor));
      if (mine !== loadSeq.current) return;
      setGroups((g) => (cursor ? [...(g ?? []), ...r.items] : r.items));
      setNext(r.nextCursor);
      if (!cursor) {
        setSelected(null);
        setDecided({});
      }
    } catch (e) {
      if (mine === loadSeq.current) setError(e);
    }
  };
  useEffect(() => void load(applied), [applied]);

  // Display order: per search, per face, strong candidates then weak ones (collapsed until opened).
  const items: Item[] = (groups ?? []).flatMap((s) =>
    s.faces.flatMap((f) => {
      const all = f.candidates.map((c) => ({ search: s, face: f, c, key: keyOf(s, f, c), weak: (c.estimatedFalseMatchRate ?? 0) > weakLimit }));
      return [...all.filter((i) => !i.weak), ...all.filter((i) => i.weak)];
    }),
  );
  const current = items.find((i) => i.key === selected) ?? null;
  const isDecided = (i: Item) => !!(decided[i.key] || i.c.ownDecision);
  const faceKey = (i: Item) => `${i.search.searchId}:${i.face.faceIndex}`;

  const select = (i: Item | undefined, keepMessage = false) => {
    if (!i) return;
    setSelected(i.key);
    setDecision('');
    if (!keepMessage) setMessage(null);
    if (i.weak) setOpen((o) => ({ ...o, [faceKey(i)]: true }));
    // The row keeps focus, so J / K keep walking the list; the panel beside it shows the comparison.
    requestAnimationFrame(() => (document.querySelector(`[data-key="${CSS.escape(i.key)}"]`) as HTMLElement | null)?.focus());
  };
  const step = (by: number) => {
    const at = items.findIndex((i) => i.key === selected);
    select(items[at < 0 ? 0 : Math.min(items.length - 1, Math.max(0, at + by))]);
  };
  const nextUndecided = () => {
    const at = items.findIndex((i) => i.key === selected);
    select([...items.slice(at + 1), ...items.slice(0, at + 1)].find((i) => !isDecided(i)));
  };

  // The key handler is replaced on every render, before the browser can deliver another event, and the listener (attached once)
  // calls whichever is current. A listener re-attached in an effect ran, between a render and that effect, with the previous
  // render's list: J pressed as soon as a freshly loaded queue appeared picked from the list before it (nothing, after Apply).
  const onKeyRef = useRef<(e: KeyboardEvent) => void>(() => undefined);
  onKeyRef.current = (e: KeyboardEvent) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const el = e.target as HTMLElement | null;
    if (el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' || el.isContentEditable)) return;
    const choose = (d: Decision) => {
      if (!current || isDecided(current)) return;
      setDecision(d);
      rationaleRef.current?.focus();
    };
    const keys: Record<string, () => void> = {
      j: () => step(1),
      k: () => step(-1),
      n: nextUndecided,
      c: () => choose('confirmed'),
      r: () => choose('rejected'),
      i: () => choose('inconclusive'),
    };
    const f = keys[e.key.toLowerCase()];
    if (f) {
      e.preventDefault();
      f();
    }
  };
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => onKeyRef.current(e);
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);

  const set = (k: keyof typeof filters) => (e: Event) => setFilters({ ...filters, [k]: (e.currentTarget as HTMLInputElement).value });
  const emptyText = applied.state === 'undecided' ? t.review.emptyUndecided : t.review.empty;
  const currentDecided = current ? (decided[current.key] ?? (current.c.ownDecision ? { decision: current.c.ownDecision, state: current.c.review.state } : null)) : null;

  return (
    <>
      <h1>{t.review.title}</h1>
      <p class="notice" role="note">{t.review.notice}</p>
      <p class="secondary-text">{t.review.keys}</p>
      <form class="inline" aria-label={t.review.title} onSubmit={(e) => {
        e.preventDefault();
        // The old list goes at once, so nothing from the previous filters can be picked while the new one loads; and an answer
        // still in flight is void from now, not only once the effect below starts the new request (it runs after paint, and an
        // answer arriving in between used to fill the list with the old filters' rows, then vanish under the reviewer).
        loadSeq.current++;
        setGroups(null);
        setSelected(null);
        setApplied({ ...filters });
      }}>
        <Field label={t.review.sort} id="q-sort">
          <select id="q-sort" value={filters.sort} onChange={set('sort')}>
            <option value="oldest">{t.review.sortOldest}</option>
            <option value="newest">{t.review.sortNewest}</option>
            <option value="strongest">{t.review.sortStrongest}</option>
          </select>
        </Field>
        <Field label={t.review.state} id="q-state">
          <select id="q-state" value={filters.state} onChange={set('state')}>
            <option value="undecided">{t.review.stateUndecided}</option>
            <option value="disputed">{t.review.stateDisputed}</option>
            <option value="decided">{t.review.stateDecided}</option>
          </select>
        </Field>
        <Field label={t.review.caseRef} id="q-case"><input id="q-case" value={filters.caseRef} onInput={set('caseRef')} /></Field>
        <Field label={t.review.watchlist} id="q-wl">
          <select id="q-wl" value={filters.watchlistId} onChange={set('watchlistId')}>
            <option value="">{t.common.any}</option>
            {(watchlists.items ?? []).map((w) => <option key={w.id} value={w.id}>{watchlistLabel(w, t.search.access)}</option>)}
          </select>
        </Field>
        {p.me.organization === '*' && <Field label={t.review.organization} id="q-org"><input id="q-org" value={filters.organization} onInput={set('organization')} /></Field>}
        <button type="submit">{t.review.apply}</button>
      </form>
      {message && <p class="ok" role="status">{message}</p>}
      <ErrorBox error={error} />
      <ScoreLegend />
      {!groups && !error && <p role="status">{t.common.loading}</p>}
      {groups && items.length === 0 && <p>{emptyText}</p>}
      {groups && items.length > 0 && (
        <div class="review-layout">
          <div class="queue" role="region" aria-label={t.review.groups}>
            {groups.map((s) => (
              <section key={s.searchId} class="queue-search" aria-labelledby={`qs-${s.searchId}`}>
                <h2 id={`qs-${s.searchId}`}>{t.review.search(s.caseRef, fmt.dateTime(s.createdAt))}</h2>
                <p class="secondary-text">{t.review.searchMeta(s.purpose, s.organization, modeWords(s.mode, locale))}</p>
                {s.faces.map((f) => {
                  const rows = items.filter((i) => i.search === s && i.face === f);
                  const strong = rows.filter((i) => !i.weak);
                  const weak = rows.filter((i) => i.weak);
                  const fk = `${s.searchId}:${f.faceIndex}`;
                  return (
                    <div key={f.faceIndex} class="queue-face">
                      <h3>{t.review.face(faceNumber(f.faceIndex))} <span class="secondary-text"><QualityText quality={f.quality} /></span></h3>
                      <ul class="queue-list">{strong.map((i) => <CandidateRow key={i.key} item={i} selected={i.key === selected} onSelect={() => select(i)} />)}</ul>
                      {weak.length > 0 && (
                        <details open={!!open[fk]} onToggle={(e) => { const o = (e.currentTarget as HTMLDetailsElement).open; setOpen((x) => ({ ...x, [fk]: o })); }}>
                          <summary>{t.candidate.weakLeads(weak.length, oneInWords(weakLimit, fmt, settings.scale))}</summary>
                          <ul class="queue-list">{weak.map((i) => <CandidateRow key={i.key} item={i} selected={i.key === selected} onSelect={() => select(i)} />)}</ul>
                        </details>
                      )}
                    </div>
                  );
                })}
              </section>
            ))}
            {next && <button type="button" class="secondary" onClick={() => load(applied, next)}>{t.common.loadMore}</button>}
          </div>
          <div class="review-pane">
            {current && (
              <section aria-labelledby="cand-h" key={current.key}>
                <h2 id="cand-h">{t.review.selected(current.search.caseRef, faceNumber(current.face.faceIndex), current.c.rank, current.c.withheld ? t.candidate.withheld(current.c.withheld) : (current.c.displayName ?? t.candidate.erased))}</h2>
                <p>{t.review.purpose(current.search.purpose)} {current.c.estimatedFalseMatchRate !== undefined && <FmrScore fmr={current.c.estimatedFalseMatchRate} similarity={current.c.similarity} />}</p>
                <p><QualityText quality={current.face.quality} /></p>
                <p class="inline">
                  <button type="button" class="secondary" onClick={() => step(-1)}>{t.review.previous}</button>
                  <button type="button" class="secondary" onClick={() => step(1)}>{t.review.nextItem}</button>
                  <button type="button" class="secondary" onClick={nextUndecided}>{t.review.next}</button>
                </p>
                {current.c.withheld ? <p class="secondary-text">{t.candidate.reference(current.c.subjectId)}</p> : <Compare probe={probePath(current)} candidate={candidatePath(current)!} candidateName={current.c.displayName ?? t.candidate.erased} />}
                <h3>{t.review.otherFaces}</h3>
                {current.c.faceId && !current.c.withheld && <OtherFaces subjectId={current.c.subjectId} except={current.c.faceId} />}
                {current.c.review.state === 'disputed' && !currentDecided && <p class="notice">{t.review.disputedNote}</p>}
                {currentDecided ? (
                  <p class="ok">{t.review.yourDecision(decisionWords(currentDecided.decision, locale), reviewStateWords(currentDecided.state, locale))}</p>
                ) : (
                  <Decide
                    item={current}
                    decision={decision}
                    setDecision={setDecision}
                    rationaleRef={rationaleRef}
                    onDone={(m, state, d) => {
                      setMessage(m);
                      setDecided((x) => ({ ...x, [current.key]: { decision: d, state } }));
                      const at = items.findIndex((i) => i.key === current.key);
                      const following = [...items.slice(at + 1), ...items.slice(0, at)].find((i) => !isDecided(i) && i.key !== current.key);
                      if (following) select(following, true);
                    }}
                  />
                )}
              </section>
            )}
          </div>
        </div>
      )}
    </>
  );
}
