import type { AuditRepo } from '../infra/db/audit.repo';
import type { Db } from '../infra/db/db';
import type { ReviewRecord } from '../infra/db/review.repo';
import type { Principal } from './api-key';
import { hashEvent, type AuditEvent } from './audit-chain';
import type { SearchService } from './search.service';
import type { ShownCandidate, ShownFace, ShownRecord } from './search-result';
import type { KeyRepo } from '../infra/db/key.repo';
import { renderReportHtml } from './report-html';

/** A candidate as the case file lists it: the shown candidate (names joined, review attached) and its probe face. */
type ReportCandidate = ShownCandidate & { faceIndex: number; review: NonNullable<ShownCandidate['review']> };

export interface CaseReport {
  reportVersion: 1;
  generatedAt: string;
  generatedBy: { keyId: string; organization: string; holder?: string | null };
  /** `holder`: the searching key's holder, added by the report service (keys are not part of the stored search). */
  search: ReturnType<typeof reportSearch> & { holder?: string | null };
  faces: Array<Pick<ShownFace, 'faceIndex' | 'box' | 'quality'> & { candidates: number }>;
  candidates: ReportCandidate[];
  reviews: ReviewRecord[];
  outcome: Record<string, number>;
  audit: {
    /** The search event and every review event of this search, with the hashes that cover them. */
    events: Array<{ seq: number; at: string; type: string; actor: AuditEvent['actor']; prevHash: string; hash: string; contentMatchesHash: boolean; payload: Record<string, unknown> }>;
    note: string;
  };
}

/** Who ran the search, why, on what probe, model and gallery, with which thresholds, and whether it needed review. */
function reportSearch(rec: ShownRecord) {
  const r = rec.result;
  return {
    searchId: rec.id,
    kind: rec.kind,
    createdAt: rec.createdAt,
    organization: rec.organization,
    keyId: rec.keyId,
    mode: rec.mode,
    purpose: rec.purpose,
    caseRef: rec.caseRef,
    params: rec.params,
    probe: r.probe ?? { sha256: rec.probeSha256 },
    model: r.model ?? { id: rec.modelId },
    gallery: rec.kind === 'search' ? (rec.result.gallery ?? null) : null,
    thresholds: rec.kind === 'search' ? (rec.result.thresholds ?? null) : null,
    humanReviewRequired: r.humanReviewRequired,
    reviewReasons: r.reviewReasons,
  };
}

/** Case-file report of one stored search (record with reviews attached by SearchService.get) and its audit events. */
export function buildReport(rec: ShownRecord, events: AuditEvent[], by: Principal, at: Date): CaseReport {
  const r = rec.result;
  // A verification has no probe faces; a candidate read without reviews attached has none yet (pending).
  const faces = rec.kind === 'search' ? rec.result.faces : [];
  const candidates = faces.flatMap((f) =>
    f.candidates.map((c) => ({ faceIndex: f.faceIndex, ...c, review: c.review ?? { state: 'pending' as const, confirmations: 0, rejections: 0 } })),
  );
  const outcome: Record<string, number> = { pending: 0, awaiting_second_confirmation: 0, confirmed: 0, rejected: 0, inconclusive: 0 };
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

/** Face images a case file shows: probe-face crops and candidates' enrolled crops (null when purged or erased). */
export interface ReportImages {
  probe(p: Principal, searchId: string, faceIndex: number): Promise<Buffer | null>;
  candidate(p: Principal, searchId: string, faceIndex: number, rank: number): Promise<Buffer | null>;
}

export function createReportService(d: { db: Db; searches: SearchService; audit: AuditRepo; keys: KeyRepo; images?: ReportImages; clock?: () => Date }) {
  const now = d.clock ?? (() => new Date());
  const report = async (p: Principal, searchId: string): Promise<CaseReport> => {
    const rec = await d.searches.get(p, searchId);
    const events = await d.audit.list(d.db, { searchId, limit: 10_000 });
    const r = buildReport(rec, events, p, now());
    const searcher = await d.keys.findById(d.db, rec.keyId);
    return { ...r, search: { ...r.search, holder: searcher?.holder ?? null }, generatedBy: { ...r.generatedBy, holder: p.holder ?? null } };
  };
  return {
    /** Same visibility as GET /v1/searches/:id (foreign organization → 404; a reviewer gets the blind view). */
    report,

    /** The printable case file, with the face crops inlined as data: URIs (the page loads nothing). */
    async html(p: Principal, searchId: string): Promise<string> {
      const r = await report(p, searchId);
      const uri = (b: Buffer | null) => (b ? `data:image/jpeg;base64,${b.toString('base64')}` : null);
      const probes = new Map<number, string | null>();
      const candidates = new Map<string, string | null>();
      for (const f of r.faces) probes.set(f.faceIndex, uri((await d.images?.probe(p, searchId, f.faceIndex)) ?? null));
      for (const c of r.candidates) candidates.set(`${c.faceIndex}:${c.rank}`, uri((await d.images?.candidate(p, searchId, c.faceIndex, c.rank)) ?? null));
      return renderReportHtml(r, { probe: (i) => probes.get(i) ?? null, candidate: (i, rank) => candidates.get(`${i}:${rank}`) ?? null });
    },
  };
}

export type ReportService = ReturnType<typeof createReportService>;
