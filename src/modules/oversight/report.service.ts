import type { Db } from '../../shared/db';
import type { Principal } from '../../shared/principal';
import { actorOf, hashEvent, type AuditEvent, type AuditLog } from '../audit/audit.model';
import type { SearchReader, ShownRecord } from '../search/search.model';
import type { KeyDirectory } from '../key/key.model';
import { renderReportHtml } from './report-html';
import { reportSearch, type CaseReport } from './oversight.model';
import { REVIEW_STATES } from '../review/review.model';
import type { Locale } from '../../shared/locale';
import { scoreScale } from '../../shared/scores';

/** Case-file report of one stored search (record with reviews attached by SearchReader.get) and its audit events. */
export function buildReport(rec: ShownRecord, events: AuditEvent[], by: Principal, at: Date): CaseReport {
  const r = rec.result;
  // A verification has no probe faces; a candidate read without reviews attached has none yet (pending).
  const faces = rec.kind === 'search' ? rec.result.faces : [];
  const candidates = faces.flatMap((f) =>
    f.candidates.map((c) => ({ faceIndex: f.faceIndex, ...c, review: c.review ?? { state: 'pending' as const, confirmations: 0, rejections: 0 } })),
  );
  const outcome: Record<string, number> = Object.fromEntries(REVIEW_STATES.map((st) => [st, 0]));
  for (const c of candidates) outcome[c.review.state] = (outcome[c.review.state] ?? 0) + 1;
  return {
    reportVersion: 1,
    generatedAt: at.toISOString(),
    generatedBy: { keyId: by.keyId, organization: by.organization },
    search: reportSearch(rec),
    faces: faces.map((f) => ({ faceIndex: f.faceIndex, box: f.box, quality: f.quality, candidates: f.candidates.length })),
    candidates,
    reviews: r.reviews ?? [],
    outcome,
    audit: {
      events: events.map((e) => ({
        seq: e.seq,
        at: e.at,
        type: e.type,
        actor: e.actor,
        prevHash: e.prevHash,
        hash: e.hash,
        contentMatchesHash: hashEvent(e) === e.hash,
        payload: e.payload,
      })),
      note: 'Each hash covers its event and, through prevHash, every earlier event. GET /v1/audit/verify or an export checked with scripts/verify-audit proves the chain around them.',
    },
  };
}

/**
 * A blind reader's case file lists no decision they may not see yet: `review.recorded` events are kept only for the reviews
 * the blind view of the search shows (their own, and others' on candidates they decided). Everyone else gets every event.
 */
function withoutHiddenDecisions(rec: ShownRecord, events: AuditEvent[]): AuditEvent[] {
  if (!rec.result.blind) return events;
  const shown = new Set((rec.result.reviews ?? []).map((r) => r.id));
  return events.filter((e) => e.type !== 'review.recorded' || shown.has(String(e.payload.reviewId)));
}

/** Face images a case file shows: probe-face crops and candidates' enrolled crops (null when purged or erased). */
export interface ReportImages {
  probe(p: Principal, searchId: string, faceIndex: number): Promise<Buffer | null>;
  candidate(p: Principal, searchId: string, faceIndex: number, rank: number): Promise<Buffer | null>;
}

/** What the printable case file needs to explain scores: the deployment's thresholds and its models' calibration floors. */
export interface ReportScores {
  screeningTargetFmr: number;
  verifyTargetFmr: number;
  probeMinQuality: number;
  /** The smallest false-match rate a model's calibration resolves; null when the model is unknown here. */
  calibrationFloor(modelId: string): number | null;
}

/** Whose subjects a case file shows: each candidate's owner organization (an erased subject has none left). */
export interface SubjectOwners {
  names(db: Db, ids: string[]): Promise<Map<string, { organization: string }>>;
}

export function createReportService(d: { db: Db; searches: SearchReader; audit: AuditLog; keys: KeyDirectory; subjects: SubjectOwners; images?: ReportImages; scores?: ReportScores; clock?: () => Date }) {
  const now = d.clock ?? (() => new Date());
  const build = async (p: Principal, searchId: string): Promise<CaseReport> => {
    const rec = await d.searches.get(p, searchId);
    // The case file tells what was done with the search (the search, its reviews, its notices), not who has read it since:
    // read.* events are oversight's record (GET /v1/audit/events, /v1/audit/reads), not the searcher's to see.
    const events = withoutHiddenDecisions(rec, (await d.audit.list(d.db, { searchId, limit: 10_000 })).filter((e) => !e.type.startsWith('read.')));
    const r = buildReport(rec, events, p, now());
    const searcher = await d.keys.findById(d.db, rec.keyId);
    return { ...r, search: { ...r.search, holder: searcher?.holder ?? null }, generatedBy: { ...r.generatedBy, holder: p.holder ?? null } };
  };
  /**
   * One `read.case_file` event per case file generated (who, which search, whose candidates; no names). `owners`, as for
   * `read.search`: the search's organization and the organizations owning its candidates, so an owner's auditor finds the
   * case files a grantee made of its subjects.
   */
  const audited = async (p: Principal, r: CaseReport, format: 'json' | 'html') => {
    const subjectIds = [...new Set(r.candidates.map((c) => c.subjectId))];
    const names = await d.subjects.names(d.db, subjectIds);
    const owners = [...new Set([r.search.organization, ...[...names.values()].map((n) => n.organization)])].sort();
    await d.db.transaction((tx) =>
      d.audit.append(tx, { type: 'read.case_file', actor: actorOf(p), searchId: r.search.searchId, subjectIds, payload: { format, owners, candidates: r.candidates.length } }, now()),
    );
  };
  return {
    /** Same visibility as GET /v1/searches/:id (foreign organization → 404; a reviewer gets the blind view). Audited. */
    async report(p: Principal, searchId: string): Promise<CaseReport> {
      const r = await build(p, searchId);
      await audited(p, r, 'json');
      return r;
    },

    /**
     * The printable case file in `locale`, with the face crops inlined as data: URIs (the page loads nothing). Score bands use
     * the screening threshold the search ran with and the deployment's current verification threshold.
     */
    async html(p: Principal, searchId: string, locale: Locale = 'en'): Promise<string> {
      const r = await build(p, searchId);
      const uri = (b: Buffer | null) => (b ? `data:image/jpeg;base64,${b.toString('base64')}` : null);
      const probes = new Map<number, string | null>();
      const candidates = new Map<string, string | null>();
      for (const f of r.faces) probes.set(f.faceIndex, uri((await d.images?.probe(p, searchId, f.faceIndex)) ?? null));
      for (const c of r.candidates) candidates.set(`${c.faceIndex}:${c.rank}`, uri((await d.images?.candidate(p, searchId, c.faceIndex, c.rank)) ?? null));
      const sc = d.scores;
      const modelId = typeof r.search.model?.id === 'string' ? r.search.model.id : null;
      const scale = scoreScale({
        screeningTargetFmr: r.search.thresholds?.screeningTargetFmr ?? sc?.screeningTargetFmr ?? 1e-4,
        verifyTargetFmr: sc?.verifyTargetFmr ?? 1e-4,
        floor: modelId && sc ? sc.calibrationFloor(modelId) : null,
      });
      await audited(p, r, 'html');
      return renderReportHtml(
        r,
        { probe: (i) => probes.get(i) ?? null, candidate: (i, rank) => candidates.get(`${i}:${rank}`) ?? null },
        { locale, scale, probeMinQuality: sc?.probeMinQuality ?? 0.5 },
      );
    },
  };
}

export type ReportService = ReturnType<typeof createReportService>;
