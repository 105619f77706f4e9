import type { Queryable } from '../../shared/db';
import type { Box, FaceQuality } from '../../shared/face.types';
import { z } from 'zod';
import type { AuditActor } from '../audit/audit.model';

/** The gallery: subjects on watchlists, their enrolled faces (templates) and images. */
export const CATEGORIES = ['fraud', 'money_laundering', 'sanctions', 'other'] as const;

export type Category = (typeof CATEGORIES)[number];

export interface Subject {
  id: string;
  displayName: string;
  category: Category;
  /** The watchlist's name (unique within its organization) and id. */
  watchlist: string;
  watchlistId: string;
  externalRef: string | null;
  caseRef: string | null;
  legalBasis: string;
  notes: string | null;
  reviewBy: string | null; // YYYY-MM-DD
  organization: string;
  createdAt: string;
  updatedAt: string;
  faceCount?: number;
}

export type SubjectFields = Pick<
  Subject,
  'displayName' | 'category' | 'watchlistId' | 'externalRef' | 'caseRef' | 'legalBasis' | 'notes' | 'reviewBy'
>;

export interface SubjectFilter {
  /** Only subjects on watchlists this organization owns (`*`: all); grants do not open records (docs/OVERSIGHT.md). */
  visibleTo: { organization: string };
  watchlistIds?: string[];
  category?: Category;
  q?: string;
  /** Exact external reference (indexed per watchlist, migration 0050). */
  externalRef?: string;
  /** Only subjects with a face enrolled from the photo with this SHA-256. */
  imageSha256?: string;
  /** Only subjects whose review date is before `dueBefore` (governance: overdue reviews). */
  dueBefore?: string;
  after?: { createdAt: string; id: string };
  limit: number;
}

export interface FaceRecord {
  id: string;
  subjectId: string;
  modelId: string;
  quality: FaceQuality;
  box: Box;
  source: string | null;
  /** SHA-256 (hex) of the enrolment photo; null for a template whose enrolment left no hash. */
  imageSha256: string | null;
  /** Enrolled below ENROL_MIN_QUALITY on the enroller's acceptQuality=true. */
  qualityOverruled: boolean;
  createdAt: string;
}

export interface NeighbourRow {
  faceId: string;
  subjectId: string;
  category: Category;
  watchlistId: string;
  /** The organization owning the candidate's watchlist (hit notices go there when it is not the searcher's). */
  owner: string;
  /** pgvector cosine distance, 0 … 2. */
  distance: number;
  /** The matched template was enrolled below the quality gate on the enroller's acceptQuality (issue 29). */
  qualityOverruled: boolean;
}

/** Which watchlists a search may see: those `organization` owns or holds a live grant for in `mode` at `at`. */
export interface KnnScope {
  organization: string;
  mode: string;
  at: Date;
  /** Narrows the scope to these watchlists (already resolved by the caller; an id outside the scope matches nothing). */
  watchlistIds?: string[];
}

export interface KnnQuery {
  embedding: number[];
  modelId: string;
  /** Subjects wanted after keeping each subject's best face. */
  topK: number;
  scope: KnnScope;
  categories?: string[];
}

/** A subject's current names as a reader is shown them (joined at read time: an erased subject has none). */
export interface SubjectNames {
  displayName: string;
  watchlist: string;
  watchlistId: string;
  organization: string;
}

/** What other modules read of subjects (subject.repo.ts implements it). */
export interface SubjectDirectory {
  get(db: Queryable, id: string): Promise<Subject | null>;
  names(db: Queryable, ids: string[]): Promise<Map<string, SubjectNames>>;
}

/** The template index searches read (face.repo.ts implements it): kNN within a scope, 1:1 distances, gallery size. */
export interface TemplateIndex {
  nearestSubjects(tx: Queryable, q: KnnQuery): Promise<NeighbourRow[]>;
  distancesForSubject(db: Queryable, subjectId: string, modelId: string, embedding: number[]): Promise<Array<{ faceId: string; distance: number }>>;
  countTemplates(db: Queryable, modelId?: string): Promise<number>;
}

export const erasureReceipt = z.object({
  subjectId: z.string().uuid(),
  facesRemoved: z.number().int(),
  imagesRemoved: z.number().int(),
  textRedacted: z
    .object({ searches: z.number().int(), reviews: z.number().int(), notices: z.number().int(), federationRequests: z.number().int(), auditTexts: z.number().int() })
    .describe('rows whose free text named the subject and now reads "[redacted on erasure]" (docs/OVERSIGHT.md, Erasure)'),
  erasedAt: z.string(),
  auditHash: z.string(),
});

/**
 * What a new template owes other modules (the reverse screening of customers watchlists, issue 22 #3). `enrolled` runs in the
 * enrolment's transaction (what it queues commits exactly with the template) and returns what the `face.enrolled` event adds;
 * `committed` runs after the commit and never throws.
 */
export interface EnrolmentHook {
  enrolled(tx: Queryable, e: { faceId: string; watchlistId: string; enrolledBy: AuditActor; at: Date }): Promise<Record<string, unknown>>;
  committed(): void;
}
