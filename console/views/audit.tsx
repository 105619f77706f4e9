import { useEffect, useRef, useState } from 'preact/hooks';
import { api, apiBlob, download, openReport } from '../api';
import { BarChart } from '../charts';
import { useI18n } from '../i18n';
import { ErrorBox, Field } from '../ui';
import { modeWords } from '../../src/shared/words';

/** GET /v1/audit/events: the chain's event plus `context` (who held the key, the search's purpose and case), not hashed. */
interface AuditEvent {
  seq: number; at: string; actor: { keyId: string | null; organization: string }; type: string; subjectIds: string[]; searchId: string | null;
  payload: Record<string, unknown>; hash: string;
  context?: { holder: string | null; purpose: string | null; caseRef: string | null };
}
interface Verification { ok: boolean; events: number; headSeq: number; headHash: string; firstBadSeq?: number; reason?: string; ms: number }
interface Stats {
  searchesByOrganization: Array<{ organization: string; searches: number }>;
  searchesByMode: Array<{ mode: string; searches: number }>;
  searchesPerDay: Array<{ day: string; organization: string; mode: string; searches: number }>;
  candidates: { returned: number; reviewed: number; confirmed: number; rejected: number; awaitingSecondConfirmation: number; disputed?: number; inconclusive: number; pending: number; confirmationRate: number | null; rejectionRate: number | null; disagreements: number; disagreementRate: number | null };
  timeToDecisionSeconds: { median: number | null; p90: number | null };
  searchesWithoutReview: { total: number; withCandidates: number; humanReviewRequired: number };
}
interface SearchItem { searchId: string; kind: string; createdAt: string; mode: string; purpose: string; caseRef: string; organization: string; humanReviewRequired: boolean }

/** Event types offered in the filter (typing another is allowed: modules add their own). */
const TYPES = [
  'search.run', 'search.failed', 'verify.run', 'verify.failed', 'review.recorded', 'subject.created', 'subject.updated', 'subject.deleted', 'face.enrolled',
  'face.reembedded', 'face.deleted', 'watchlist.created', 'watchlist.updated', 'watchlist.deleted', 'watchlist.granted', 'watchlist.grant_revoked',
  'webhook.set', 'webhook.deleted', 'key.created', 'key.revoked', 'key.bootstrapped', 'audit.anchored', 'probe_faces.purged',
];
const iso = (local: string) => (local ? new Date(local).toISOString() : '');

function Chain() {
  const { t, fmt } = useI18n();
  const [v, setV] = useState<Verification | null>(null);
  const [anchor, setAnchor] = useState<{ seq: number; hash: string; createdAt: string } | null | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const verify = async () => {
    setError(null);
    try {
      setV(await api<Verification>('/v1/audit/verify'));
      setAnchor((await api<{ items: Array<{ seq: number; hash: string; createdAt: string }> }>('/v1/audit/anchors?limit=1')).items[0] ?? null);
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section aria-labelledby="chain-h">
      <h2 id="chain-h">{t.audit.chain}</h2>
      <button type="button" onClick={verify}>{t.audit.verify}</button>
      {v && (
        <p class={v.ok ? 'ok' : 'error'} role="status">
          {v.ok ? t.audit.verified(fmt.number(v.events), v.headSeq, v.ms) : t.audit.broken(v.firstBadSeq ?? 0, v.reason ?? '')} {t.audit.headHash} <code>{v.headHash}</code>
        </p>
      )}
      {anchor === null && <p>{t.audit.noAnchor}</p>}
      {anchor && v && <p>{t.audit.anchor(anchor.seq, fmt.dateTime(anchor.createdAt), v.headSeq - anchor.seq)} <code>{anchor.hash}</code></p>}
      <ErrorBox error={error} />
    </section>
  );
}

/** What an event was about, in a few words: the search's mode and outcome, a review's decision, the failure's code. */
function what(e: AuditEvent, t: ReturnType<typeof useI18n>['t'], locale: ReturnType<typeof useI18n>['locale']) {
  const p = e.payload;
  const parts: string[] = [];
  if (typeof p.mode === 'string') parts.push(modeWords(p.mode, locale));
  if (typeof p.decision === 'string') parts.push(String(p.decision));
  if (typeof p.code === 'string') parts.push(t.audit.failed(p.code));
  return parts.join(' · ');
}

type Filters = { holder: string; organization: string; caseRef: string; type: string; from: string; to: string };
const NO_FILTERS: Filters = { holder: '', organization: '', caseRef: '', type: '', from: '', to: '' };
const params = (f: Filters) => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) if (v.trim()) p.set(k, k === 'from' || k === 'to' ? iso(v) : v.trim());
  return p;
};

function EventsTable(p: { items: AuditEvent[]; onCase: (c: string) => void }) {
  const { t, fmt, locale } = useI18n();
  return (
    <div class="table-wrap">
      <table>
        <caption>{t.audit.table(p.items.length)}</caption>
        <thead><tr><th scope="col">{t.audit.seq}</th><th scope="col">{t.audit.at}</th><th scope="col">{t.audit.type}</th><th scope="col">{t.audit.actor}</th><th scope="col">{t.audit.purposeCase}</th><th scope="col">{t.audit.what}</th><th scope="col">{t.audit.hash}</th></tr></thead>
        <tbody>
          {p.items.map((e) => (
            <tr key={e.seq}>
              <td>{e.seq}</td>
              <td>{fmt.dateTime(e.at)}</td>
              <td>{e.type}</td>
              <td>{e.context?.holder ?? (e.actor.keyId ? <code>{e.actor.keyId.slice(0, 8)}</code> : t.audit.system)} ({e.actor.organization})</td>
              <td>
                {e.context?.purpose ?? ''}
                {e.context?.caseRef && (
                  <>
                    {e.context.purpose ? ' · ' : ''}
                    <button type="button" class="link" aria-label={t.audit.openCase(e.context.caseRef)} onClick={() => p.onCase(e.context!.caseRef!)}>{e.context.caseRef}</button>
                  </>
                )}
              </td>
              <td>
                {what(e, t, locale)}
                {e.searchId && <> <code>{t.audit.search(e.searchId.slice(0, 8))}</code></>}
                {e.subjectIds.map((s) => <code key={s}> {t.audit.subject(s.slice(0, 8))}</code>)}
              </td>
              <td><code>{e.hash.slice(0, 16)}…</code></td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Newest first, a page at a time; filters by holder, organization, case, type and time; the filtered set exports as NDJSON or CSV. */
function Timeline(p: { filters: Filters; onFilters: (f: Filters) => void; onCase: (c: string) => void }) {
  const { t } = useI18n();
  const [f, setF] = useState<Filters>(p.filters);
  const [items, setItems] = useState<AuditEvent[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  // Only the latest request fills the timeline: an answer to filters since replaced is dropped (from the moment they are
  // replaced: Apply voids what is in flight before the effect that loads the new ones has run).
  const loadSeq = useRef(0);
  const load = async (applied: Filters, cursor?: string) => {
    const mine = ++loadSeq.current;
    setError(null);
    try {
      const q = params(applied);
      q.set('limit', '50');
      q.set('order', 'desc');
      if (cursor) q.set('cursor', cursor);
      const r = await api<{ items: AuditEvent[]; nextCursor: string | null }>(`/v1/audit/events?${q}`);
      if (mine !== loadSeq.current) return;
      setItems((x) => (cursor ? [...x, ...r.items] : r.items));
      setNext(r.nextCursor);
    } catch (e) {
      if (mine === loadSeq.current) setError(e);
    }
  };
  const exportAs = async (format: 'ndjson' | 'csv') => {
    try {
      const q = params(p.filters);
      q.set('format', format);
      download(await apiBlob(`/v1/audit/events/export?${q}`), `facematch-audit.${format}`);
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => void load(p.filters), [p.filters]);
  // Apply always hands up a new object, so the effect always runs; what was in flight is void from the click on.
  const apply = (e: Event) => {
    e.preventDefault();
    loadSeq.current++;
    p.onFilters({ ...f });
  };
  const set = (k: keyof Filters) => (e: Event) => setF({ ...f, [k]: (e.currentTarget as HTMLInputElement).value });
  return (
    <section aria-labelledby="tl-h">
      <h2 id="tl-h">{t.audit.timeline}</h2>
      <form class="inline" onSubmit={apply} aria-label={t.audit.filter}>
        <Field label={t.audit.holder} id="a-holder"><input id="a-holder" value={f.holder} onInput={set('holder')} /></Field>
        <Field label={t.audit.organization} id="a-org"><input id="a-org" value={f.organization} onInput={set('organization')} /></Field>
        <Field label={t.audit.caseRef} id="a-case"><input id="a-case" value={f.caseRef} onInput={set('caseRef')} /></Field>
        <Field label={t.audit.type} id="a-type">
          <input id="a-type" list="a-types" value={f.type} onInput={set('type')} />
        </Field>
        <datalist id="a-types">{TYPES.map((x) => <option key={x} value={x} />)}</datalist>
        <Field label={t.audit.from} id="a-from"><input id="a-from" type="datetime-local" value={f.from} onInput={set('from')} /></Field>
        <Field label={t.audit.to} id="a-to"><input id="a-to" type="datetime-local" value={f.to} onInput={set('to')} /></Field>
        <button type="submit">{t.audit.apply}</button>
        <button type="button" class="secondary" onClick={() => exportAs('ndjson')}>{t.audit.export}</button>
        <button type="button" class="secondary" onClick={() => exportAs('csv')}>{t.audit.exportCsv}</button>
      </form>
      <ErrorBox error={error} />
      <EventsTable items={items} onCase={p.onCase} />
      {next && <button type="button" class="secondary" onClick={() => load(p.filters, next)}>{t.common.loadMore}</button>}
    </section>
  );
}

/** Everything about one case: its searches (each with its case file) and every audit event of the case, newest first. */
function CaseView(p: { caseRef: string; onBack: () => void; onCase: (c: string) => void }) {
  const { t, fmt, locale } = useI18n();
  const [searches, setSearches] = useState<SearchItem[] | null>(null);
  const [filters, setFilters] = useState<Filters>({ ...NO_FILTERS, caseRef: p.caseRef });
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api<{ items: SearchItem[] }>(`/v1/searches?${new URLSearchParams({ caseRef: p.caseRef, limit: '200' })}`).then((r) => setSearches(r.items)).catch(setError);
  }, [p.caseRef]);
  return (
    <>
      <button type="button" class="secondary" onClick={p.onBack}>{t.audit.backToTimeline}</button>
      <h2 id="case-h" tabIndex={-1}>{t.audit.caseView(p.caseRef)}</h2>
      <ErrorBox error={error} />
      {searches && (
        <div class="table-wrap">
          <table>
            <caption>{t.audit.caseSearches(searches.length)}</caption>
            <thead><tr><th scope="col">{t.audit.at}</th><th scope="col">{t.audit.what}</th><th scope="col">{t.audit.purposeCase}</th><th scope="col">{t.audit.organization}</th><th scope="col">{t.audit.caseFile}</th></tr></thead>
            <tbody>
              {searches.map((s) => (
                <tr key={s.searchId}>
                  <td>{fmt.dateTime(s.createdAt)}</td>
                  <td>{modeWords(s.mode, locale)} <code>{t.audit.search(s.searchId.slice(0, 8))}</code></td>
                  <td>{s.purpose}</td>
                  <td>{s.organization}</td>
                  <td><button type="button" class="secondary" onClick={() => openReport(s.searchId).catch(setError)}>{t.audit.caseFile}</button></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Timeline filters={filters} onFilters={setFilters} onCase={p.onCase} />
    </>
  );
}

function Dashboard() {
  const { t, fmt } = useI18n();
  const [s, setS] = useState<Stats | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => void api<Stats>('/v1/oversight/stats').then(setS).catch(setError), []);
  if (error) return <ErrorBox error={error} />;
  if (!s) return <p>{t.audit.loadingStats}</p>;
  const c = s.candidates;
  const dur = (x: number | null) => (x === null ? t.audit.na : x < 120 ? `${fmt.number(x, 0)} s` : x < 7200 ? `${fmt.number(x / 60, 0)} min` : `${fmt.number(x / 3600, 1)} h`);
  return (
    <section aria-labelledby="stats-h" class="charts">
      <h2 id="stats-h">{t.audit.stats}</h2>
      <BarChart id="per-day" title={t.audit.perDay} empty={t.charts.none} format={(v) => fmt.number(v)} bars={s.searchesPerDay.map((d) => ({ label: `${d.day} ${d.organization} ${d.mode}`, value: d.searches }))} />
      <BarChart id="by-org" title={t.audit.byOrg} empty={t.charts.none} format={(v) => fmt.number(v)} bars={s.searchesByOrganization.map((o) => ({ label: o.organization, value: o.searches }))} />
      <BarChart id="outcomes" title={t.audit.outcomes} empty={t.charts.none} format={(v) => fmt.number(v)} bars={[
        { label: t.audit.confirmedTwo, value: c.confirmed },
        { label: t.audit.awaitingSecond, value: c.awaitingSecondConfirmation },
        { label: t.audit.rejected, value: c.rejected },
        ...(c.disputed === undefined ? [] : [{ label: t.audit.disputed, value: c.disputed }]),
        { label: t.audit.inconclusive, value: c.inconclusive },
        { label: t.audit.notReviewed, value: c.pending },
      ]} />
      <BarChart id="rates" title={t.audit.rates} empty={t.charts.none} format={(v) => fmt.percent(v)} bars={[
        { label: t.audit.confirmationRate, value: c.confirmationRate ?? 0 },
        { label: t.audit.rejectionRate, value: c.rejectionRate ?? 0 },
        { label: t.audit.disagreementRate, value: c.disagreementRate ?? 0 },
      ]} />
      <BarChart id="unreviewed" title={t.audit.unreviewed} empty={t.charts.none} format={(v) => fmt.number(v)} bars={[
        { label: t.audit.all, value: s.searchesWithoutReview.total },
        { label: t.audit.withCandidates, value: s.searchesWithoutReview.withCandidates },
        { label: t.audit.reviewRequired, value: s.searchesWithoutReview.humanReviewRequired },
      ]} />
      <p>{t.audit.timing(dur(s.timeToDecisionSeconds.median), dur(s.timeToDecisionSeconds.p90), c.disagreements)}</p>
    </section>
  );
}

export function AuditView() {
  const { t } = useI18n();
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [caseRef, setCaseRef] = useState<string | null>(null);
  const openCase = (c: string) => {
    setCaseRef(c);
    requestAnimationFrame(() => document.getElementById('case-h')?.focus());
  };
  if (caseRef) {
    return (
      <>
        <h1>{t.audit.title}</h1>
        <CaseView key={caseRef} caseRef={caseRef} onBack={() => setCaseRef(null)} onCase={openCase} />
      </>
    );
  }
  return (
    <>
      <h1>{t.audit.title}</h1>
      <Chain />
      <Dashboard />
      <Timeline filters={filters} onFilters={setFilters} onCase={openCase} />
    </>
  );
}
