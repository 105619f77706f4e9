import type { AuditRepo } from '../infra/db/audit.repo';
import type { Db } from '../infra/db/db';
import type { SearchRecord } from '../infra/db/search.repo';
import type { ReviewRecord } from '../infra/db/review.repo';
import type { Principal } from './api-key';
import { hashEvent, type AuditEvent } from './audit-chain';
import type { SearchService } from './search.service';
import type { ReviewSummary } from './review-state';
import type { KeyRepo } from '../infra/db/key.repo';
import { renderReportHtml } from './report-html';

type StoredCandidate = {
  rank: number;
  subjectId: string;
  /** Joined at read time; null when the subject was erased (then `erased` is true). */
  displayName: string | null;
  erased?: boolean;
  category: string;
  watchlist: string | null;
  watchlistId: string;
  faceId: string;
  similarity: number;
  estimatedFalseMatchRate: number;
  review: Pick<ReviewSummary, 'state' | 'confirmations' | 'rejections'>;
};
type StoredFace = { faceIndex: number; box: unknown; quality: { score: number; issues: string[] }; candidates: StoredCandidate[] };

export interface CaseReport {
  reportVersion: 1;
  generatedAt: string;
  generatedBy: { keyId: string; organization: string; holder?: string | null };
  search: Record<string, unknown>;
  faces: Array<{ faceIndex: number; box: unknown; quality: unknown; candidates: number }>;
  candidates: Array<StoredCandidate & { faceIndex: number }>;
  reviews: ReviewRecord[];
  outcome: Record<string, number>;
  audit: {
    /** The search event and every review event of this search, with the hashes that cover them. */
    events: Array<{ seq: number; at: string; type: string; actor: AuditEvent['actor']; prevHash: string; hash: string; contentMatchesHash: boolean; payload: Record<string, unknown> }>;
    note: string;
  };
}

/** Case-file report of one stored search (record with reviews attached by SearchService.get) and its audit events. */
export function buildReport(rec: SearchRecord, events: AuditEvent[], by: Principal, at: Date): CaseReport {
  const r = rec.result as Record<string, unknown> & { faces?: StoredFace[]; reviews?: ReviewRecord[] };
  const faces = r.faces ?? [];
  const candidates = faces.flatMap((f) => f.candidates.map((c) => ({ faceIndex: f.faceIndex, ...c })));
  const outcome: Record<string, number> = { pending: 0, awaiting_second_confirmation: 0, confirmed: 0, rejected: 0, inconclusive: 0 };
  for (const c of candidates) outcome[c.review.state] = (outcome[c.review.state] ?? 0) + 1;
  return {
    reportVersion: 1,
    generatedAt: at.toISOString(),
    generatedBy: { keyId: by.keyId, organization: by.organization },
    search: {
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
      gallery: r.gallery ?? null,
      thresholds: r.thresholds ?? null,
      humanReviewRequired: r.humanReviewRequired ?? null,
      reviewReasons: r.reviewReasons ?? [],
    },
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
