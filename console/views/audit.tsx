import { useEffect, useState } from 'preact/hooks';
import { api, apiBlob, download, errorText } from '../api';
import { BarChart } from '../charts';
import { ErrorBox, Field, when } from '../ui';

interface AuditEvent { seq: number; at: string; actor: { keyId: string | null; organization: string }; type: string; subjectIds: string[]; searchId: string | null; hash: string }
interface Verification { ok: boolean; events: number; headSeq: number; headHash: string; firstBadSeq?: number; reason?: string; ms: number }
interface Stats {
  searchesByOrganization: Array<{ organization: string; searches: number }>;
  searchesByMode: Array<{ mode: string; searches: number }>;
  searchesPerDay: Array<{ day: string; organization: string; mode: string; searches: number }>;
  candidates: { returned: number; reviewed: number; confirmed: number; rejected: number; awaitingSecondConfirmation: number; inconclusive: number; pending: number; confirmationRate: number | null; rejectionRate: number | null; disagreements: number; disagreementRate: number | null };
  timeToDecisionSeconds: { median: number | null; p90: number | null };
  searchesWithoutReview: { total: number; withCandidates: number; humanReviewRequired: number };
}
const TYPES = ['search.run', 'verify.run', 'review.recorded', 'subject.created', 'subject.updated', 'subject.deleted', 'face.enrolled', 'face.reembedded', 'face.deleted', 'key.created', 'key.revoked', 'key.bootstrapped', 'audit.anchored', 'probe_faces.purged'];
const iso = (local: string) => (local ? new Date(local).toISOString() : '');
const pct = (v: number) => `${(v * 100).toFixed(1)} %`;
const dur = (s: number | null) => (s === null ? 'n/a' : s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`);

function Chain() {
  const [v, setV] = useState<Verification | null>(null);
  const [anchor, setAnchor] = useState<{ seq: number; hash: string; createdAt: string } | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const verify = async () => {
    setError(null);
    try {
      setV(await api<Verification>('/v1/audit/verify'));
      setAnchor((await api<{ items: Array<{ seq: number; hash: string; createdAt: string }> }>('/v1/audit/anchors?limit=1')).items[0] ?? null);
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <section aria-labelledby="chain-h">
      <h2 id="chain-h">Audit chain</h2>
      <button type="button" onClick={verify}>Verify the chain</button>
      {v && (
        <p class={v.ok ? 'ok' : 'error'} role="status">
          {v.ok ? `Chain verified: ${v.events} events, head seq ${v.headSeq}, ${v.ms} ms.` : `Chain BROKEN at seq ${v.firstBadSeq}: ${v.reason ?? ''}`} Head hash <code>{v.headHash}</code>
        </p>
      )}
      {anchor === null && <p>No anchor recorded yet (npm run audit:anchor writes one).</p>}
      {anchor && v && <p>Latest anchor: seq {anchor.seq} at {when(anchor.createdAt)}, hash <code>{anchor.hash}</code>; the chain head is {v.headSeq - anchor.seq} event(s) past it.</p>}
      <ErrorBox error={error} />
    </section>
  );
}

function Timeline() {
  const [f, setF] = useState({ actor: '', type: '', subjectId: '', searchId: '', from: '', to: '' });
  const [items, setItems] = useState<AuditEvent[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const query = (cursor?: string) => {
    const p = new URLSearchParams({ limit: '50' });
    for (const [k, v] of Object.entries(f)) if (v) p.set(k, k === 'from' || k === 'to' ? iso(v) : v.trim());
    if (cursor) p.set('cursor', cursor);
    return p;
  };
  const load = async (cursor?: string) => {
    setError(null);
    try {
      const r = await api<{ items: AuditEvent[]; nextCursor: string | null }>(`/v1/audit/events?${query(cursor)}`);
      setItems(cursor ? [...items, ...r.items] : r.items);
      setNext(r.nextCursor);
    } catch (e) {
      setError(errorText(e));
    }
  };
  const exportNdjson = async () => {
    try {
      const p = new URLSearchParams();
      if (f.from) p.set('from', iso(f.from));
      if (f.to) p.set('to', iso(f.to));
      download(await apiBlob(`/v1/audit/export?${p}`), 'facematch-audit.ndjson');
    } catch (e) {
      setError(errorText(e));
    }
  };
  useEffect(() => void load(), []);
  const set = (k: keyof typeof f) => (e: Event) => setF({ ...f, [k]: (e.currentTarget as HTMLInputElement).value });
  return (
    <section aria-labelledby="tl-h">
      <h2 id="tl-h">Audit timeline</h2>
      <form class="inline" onSubmit={(e) => { e.preventDefault(); void load(); }} aria-label="Filter audit events">
        <Field label="Actor key id" id="a-actor"><input id="a-actor" value={f.actor} onInput={set('actor')} /></Field>
        <Field label="Type" id="a-type">
          <select id="a-type" value={f.type} onChange={set('type')}><option value="">any</option>{TYPES.map((t) => <option key={t} value={t}>{t}</option>)}</select>
        </Field>
        <Field label="Subject id" id="a-subject"><input id="a-subject" value={f.subjectId} onInput={set('subjectId')} /></Field>
        <Field label="Search id" id="a-search"><input id="a-search" value={f.searchId} onInput={set('searchId')} /></Field>
        <Field label="From" id="a-from"><input id="a-from" type="datetime-local" value={f.from} onInput={set('from')} /></Field>
        <Field label="To" id="a-to"><input id="a-to" type="datetime-local" value={f.to} onInput={set('to')} /></Field>
        <button type="submit">Filter</button>
        <button type="button" class="secondary" onClick={exportNdjson}>Export NDJSON</button>
      </form>
      <ErrorBox error={error} />
      <div class="table-wrap">
        <table>
          <caption>Events, oldest first ({items.length} shown)</caption>
          <thead><tr><th scope="col">Seq</th><th scope="col">At</th><th scope="col">Type</th><th scope="col">Actor</th><th scope="col">Search / subjects</th><th scope="col">Hash</th></tr></thead>
          <tbody>
            {items.map((e) => (
              <tr key={e.seq}>
                <td>{e.seq}</td><td>{when(e.at)}</td><td>{e.type}</td>
                <td>{e.actor.keyId ? <code>{e.actor.keyId.slice(0, 8)}</code> : 'system'} ({e.actor.organization})</td>
                <td>{e.searchId && <code>search {e.searchId.slice(0, 8)}</code>} {e.subjectIds.map((s) => <code key={s}>subject {s.slice(0, 8)} </code>)}</td>
                <td><code>{e.hash.slice(0, 16)}…</code></td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {next && <button type="button" class="secondary" onClick={() => load(next)}>Load more</button>}
    </section>
  );
}

function Dashboard() {
  const [s, setS] = useState<Stats | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => void api<Stats>('/v1/oversight/stats').then(setS).catch((e) => setError(errorText(e))), []);
  if (error) return <ErrorBox error={error} />;
  if (!s) return <p>Loading statistics…</p>;
  const c = s.candidates;
  return (
    <section aria-labelledby="stats-h" class="charts">
      <h2 id="stats-h">Statistics (all time)</h2>
      <BarChart id="per-day" title="Searches per day, by organization and mode" bars={s.searchesPerDay.map((d) => ({ label: `${d.day} ${d.organization} ${d.mode}`, value: d.searches }))} />
      <BarChart id="by-org" title="Searches by organization" bars={s.searchesByOrganization.map((o) => ({ label: o.organization, value: o.searches }))} />
      <BarChart id="outcomes" title="Review outcomes of returned candidates" bars={[
        { label: 'confirmed (two people)', value: c.confirmed },
        { label: 'awaiting second confirmation', value: c.awaitingSecondConfirmation },
        { label: 'rejected', value: c.rejected },
        { label: 'inconclusive', value: c.inconclusive },
        { label: 'not reviewed', value: c.pending },
      ]} />
      <BarChart id="rates" title="Rates over reviewed candidates" format={pct} bars={[
        { label: 'confirmation rate', value: c.confirmationRate ?? 0 },
        { label: 'rejection rate', value: c.rejectionRate ?? 0 },
        { label: 'reviewer disagreement', value: c.disagreementRate ?? 0 },
      ]} />
      <BarChart id="unreviewed" title="Searches never reviewed" bars={[
        { label: 'all', value: s.searchesWithoutReview.total },
        { label: 'with candidates', value: s.searchesWithoutReview.withCandidates },
        { label: 'human review required', value: s.searchesWithoutReview.humanReviewRequired },
      ]} />
      <p>Time from search to first decision: median {dur(s.timeToDecisionSeconds.median)}, 90th percentile {dur(s.timeToDecisionSeconds.p90)}. Disagreements: {c.disagreements} candidate(s) both confirmed and rejected.</p>
    </section>
  );
}

export function AuditView() {
  return (
    <>
      <h1>Oversight</h1>
      <Chain />
      <Dashboard />
      <Timeline />
    </>
  );
}
