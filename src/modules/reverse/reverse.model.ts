import type { Queryable } from '../../shared/db';
import type { Principal } from '../../shared/principal';
import type { AnalyzedImage, FaceQuality } from '../../shared/face.types';
import type { SearchParams, ShownSearchResult, StoredSearchResult } from '../search/search.model';
import type { AuditActor } from '../audit/audit.model';

/**
 * Reverse screening on enrolment (issue 22 #3, docs/sharing.md "Reverse screening"): an organization holding a live grant to
 * another's watchlist has one of its own `customers` watchlists screened against each subject enrolled there from then on.
 */
export interface ReverseScreening {
  grantId: string;
  /** The watchlist granted (the owner's), and its owner. */
  watchlistId: string;
  owner: string;
  customersWatchlistId: string;
  customersWatchlist: string;
  purpose: string;
  caseRef: string;
  /** The key that enabled it: the screening searches are that key's, as if it had run them. */
  keyId: string;
  holder: string | null;
  enabledAt: string;
}

/** Why an owed screening did not run (the task row keeps it): nothing is searched then. */
export type SkipReason = 'grant_not_live' | 'disabled' | 'template_removed' | 'subject_moved' | 'model_changed' | 'purpose_refused' | 'refused';

/** One owed screening with everything it needs, read when it runs (so a revocation or a disabling before then counts). */
export interface ScreeningTask {
  id: string;
  faceId: string;
  grantId: string;
  enrolledBy: AuditActor;
  doneAt: string | null;
  /** The grant's receiving organization, and whether the grant is live (accepted, not revoked, declined or expired) now. */
  grantee: string;
  live: boolean;
  watchlistId: string;
  owner: string;
  config: Pick<ReverseScreening, 'customersWatchlistId' | 'purpose' | 'caseRef' | 'keyId' | 'holder'> | null;
  /** The template, while it exists. */
  template: {
    subjectId: string;
    subjectWatchlistId: string;
    modelId: string;
    embedding: number[];
    quality: FaceQuality;
    box: { x: number; y: number; width: number; height: number };
    imageSha256: string | null;
  } | null;
}

/** The search service as reverse screening uses it (search.service implements it): a search over an enrolled template. */
export interface TemplateSearch {
  searchAnalyzed(
    p: Principal,
    analyzed: AnalyzedImage,
    params: SearchParams,
    within?: (tx: Queryable, stored: StoredSearchResult) => Promise<void>,
    extra?: { result?: Record<string, unknown>; audit?: Record<string, unknown> },
  ): Promise<ShownSearchResult>;
}
