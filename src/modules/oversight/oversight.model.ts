import type { AuditEvent } from '../audit/audit.model';
import type { ReviewRecord } from '../review/review.model';
import type { ShownCandidate, ShownFace, ShownRecord } from '../search/search.model';

/** Oversight: statistics over searches and reviews, and the case file of one search. */
export interface StatsWindow {
  from?: Date;
  to?: Date;
  /** null = every organization (`*` auditors). */
  organization: string | null;
}

/** A candidate as the case file lists it: the shown candidate (names joined, review attached) and its probe face. */
export type ReportCandidate = ShownCandidate & { faceIndex: number; review: NonNullable<ShownCandidate['review']> };

/** Who ran the search, why, on what probe, model and gallery, with which thresholds, and whether it needed review. */
export function reportSearch(rec: ShownRecord) {
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

/** How many rows of each kind an erasure redacted (the erasure receipt and the subject.deleted tombstone carry it). */
export interface RedactionCounts {
  searches: number;
  reviews: number;
  notices: number;
  federationRequests: number;
  auditTexts: number;
}
