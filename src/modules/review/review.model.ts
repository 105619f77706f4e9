import type { Queryable } from '../../shared/db';
import { z } from 'zod';
import { CHECKLIST_FEATURES, CHECKLIST_VALUES } from './review.checklist';

/**
 * Four-eyes review rules for one candidate (a subject proposed for one probe face of one search).
 * EU AI Act Art. 14(5): no action on an identification unless two natural persons verified it. Reviewers are told apart by
 * the holder of their API key (the person using it): two keys of one holder count once.
 */
export const REVIEW_DECISIONS = ['confirmed', 'rejected', 'inconclusive'] as const;

export type ReviewDecision = (typeof REVIEW_DECISIONS)[number];

export const REVIEW_STATES = ['pending', 'awaiting_second_confirmation', 'confirmed', 'rejected', 'disputed', 'inconclusive'] as const;

export type ReviewState = (typeof REVIEW_STATES)[number];

export interface ReviewSummary {
  state: ReviewState;
  /** Distinct reviewers (key holders) that confirmed. */
  confirmations: number;
  /** Distinct reviewers (key holders) that rejected. */
  rejections: number;
  inconclusive: number;
}

/** Distinct confirming reviewers (holders) needed before a candidate counts as confirmed. */
export const CONFIRMATIONS_REQUIRED = 2;

/**
 * The state of a candidate from the distinct holders that confirmed (c) and rejected (r) it; inconclusive decisions count
 * neither way. docs/OVERSIGHT.md "When reviewers disagree" states the same rule for people.
 * - `pending`: no decisions yet;
 * - `awaiting_second_confirmation`: c = 1, r = 0;
 * - `confirmed`: c ≥ CONFIRMATIONS_REQUIRED and c > r (two people confirmed, and more confirmed than rejected);
 * - `rejected`: r > c (a first rejection closes a candidate nobody confirmed; after a dispute, the majority rejected);
 * - `disputed`: c = r ≥ 1: reviewers disagree and neither side has the majority. The candidate stays in the queue; a further
 *   reviewer (a third person, or a supervisor with the reviewer role) decides it by making one side the majority;
 * - `inconclusive`: only inconclusive decisions.
 */
export function reviewState(decisions: ReadonlyArray<{ decision: ReviewDecision; keyId: string; holder?: string }>): ReviewSummary {
  // A decision without a holder (recorded by an in-process caller) counts as its key.
  const keysWith = (d: ReviewDecision) => new Set(decisions.filter((r) => r.decision === d).map((r) => r.holder ?? `key:${r.keyId}`)).size;
  const confirmations = keysWith('confirmed');
  const rejections = keysWith('rejected');
  const inconclusive = keysWith('inconclusive');
  return { state: stateOf(confirmations, rejections, decisions.length), confirmations, rejections, inconclusive };
}

/** reviewState's rule over counts: distinct confirming (c) and rejecting (r) holders, and the number of decisions. */
export function stateOf(c: number, r: number, decisions: number): ReviewState {
  if (decisions === 0) return 'pending';
  if (c >= CONFIRMATIONS_REQUIRED && c > r) return 'confirmed';
  if (r > c) return 'rejected';
  if (r >= 1) return 'disputed';
  return c === 1 ? 'awaiting_second_confirmation' : 'inconclusive';
}

export interface ReviewRecord {
  id: string;
  searchId: string;
  faceIndex: number;
  subjectId: string;
  decision: ReviewDecision;
  rationale: string;
  keyId: string;
  /** Holder of the reviewer's key when the decision was made. */
  holder: string;
  organization: string;
  /** The reviewer's feature-by-feature comparison (FISWG-style), when given. */
  checklist: Record<string, string> | null;
  createdAt: string;
}

/** One candidate awaiting a reviewer: the stored candidate, its probe face, and the search it belongs to. No decisions. */
export interface QueueItem {
  searchId: string;
  createdAt: string;
  mode: string;
  purpose: string;
  caseRef: string;
  organization: string;
  faceIndex: number;
  rank: number;
  /** jsonb of the stored result, unparsed: review.service reads it through modules/search/search.model.ts. */
  face: unknown;
  candidate: unknown;
}

/** Orders of the grouped queue: oldest waiting search first, newest first, or the search with the strongest candidate first. */
export const QUEUE_SORTS = ['oldest', 'newest', 'strongest'] as const;
export type QueueSort = (typeof QUEUE_SORTS)[number];

/**
 * Which of this reviewer's candidates the grouped queue lists: `undecided` (awaiting their decision: open and not decided by
 * them), `disputed` (the undecided ones on which reviewers disagree, for a third reviewer or a supervisor), `decided` (the ones
 * they decided, with the state now).
 */
export const QUEUE_STATES = ['undecided', 'disputed', 'decided'] as const;
export type QueueState = (typeof QUEUE_STATES)[number];

/** Keyset position in the grouped queue: the last search of the previous page under the page's sort. */
export interface QueueSearchPosition {
  sort: QueueSort;
  createdAt: string;
  searchId: string;
  /** The search's strongest listed candidate (lowest false-match rate), for sort `strongest`. */
  bestFmr: number;
}

export interface QueueSearchFilter {
  /** null = every organization (`*` keys without an organization filter). */
  organization: string | null;
  holder: string;
  keyId: string;
  caseRef?: string;
  watchlistId?: string;
  state: QueueState;
  sort: QueueSort;
  after?: QueueSearchPosition;
  /** Searches per page. */
  limit: number;
}

/** One candidate row of the grouped queue: the stored candidate and face (jsonb, unparsed), its counts and this holder's decision. */
export interface QueueCandidateRow extends QueueItem {
  bestFmr: number;
  confirmations: number;
  rejections: number;
  decisions: number;
  /** This holder's own decision on the candidate, if any. */
  ownDecision: ReviewDecision | null;
}

export interface QueueFilter {
  /** null = every organization (`*` keys). */
  organization: string | null;
  holder: string;
  keyId: string;
  after?: { createdAt: string; searchId: string; faceIndex: number; rank: number };
  limit: number;
}

// The checklist's features and values live in a file without zod, so the console bundles them without the schema library.
export { CHECKLIST_FEATURES, CHECKLIST_VALUES, type ChecklistFeature, type ChecklistValue, type FeatureChecklist } from './review.checklist';

// What people read for each feature and value, in each language: src/shared/words.ts (featureWords, checklistValueWords).

/**
 * The four-eyes rule in SQL, for statements that aggregate the `review r` rows of one candidate: the same counts and states as
 * reviewState() — distinct holders; confirmed with CONFIRMATIONS_REQUIRED confirmations and more confirmations than
 * rejections, rejected with more rejections than confirmations, disputed when both are equal and not zero. Statistics and the
 * review queue use these fragments; none writes the rule again.
 */
export const FOUR_EYES_SQL = {
  /** Aggregate: distinct holders that confirmed. */
  confirmations: `count(DISTINCT r.holder) FILTER (WHERE r.decision = 'confirmed')`,
  /** Aggregate: distinct holders that rejected. */
  rejections: `count(DISTINCT r.holder) FILTER (WHERE r.decision = 'rejected')`,
  /** Over the two counts (column names or the aggregates above): each closed and open state of reviewState(). */
  confirmed: (confirmations: string, rejections: string) => `(${confirmations} >= ${CONFIRMATIONS_REQUIRED} AND ${confirmations} > ${rejections})`,
  rejected: (confirmations: string, rejections: string) => `(${rejections} > ${confirmations})`,
  disputed: (confirmations: string, rejections: string) => `(${rejections} >= 1 AND ${rejections} = ${confirmations})`,
  awaitingSecond: (confirmations: string, rejections: string) => `(${rejections} = 0 AND ${confirmations} = 1)`,
  /** Neither confirmed nor rejected: still in the review queue (pending, awaiting a second confirmation, disputed, inconclusive). */
  open: (confirmations: string, rejections: string) =>
    `(${rejections} <= ${confirmations} AND (${confirmations} < ${CONFIRMATIONS_REQUIRED} OR ${confirmations} = ${rejections}))`,
} as const;

/** The decisions recorded on searches, as other modules read them (review.repo.ts implements it). */
export interface ReviewLog {
  /** Every decision on one search, oldest first. */
  listBySearch(db: Queryable, searchId: string): Promise<ReviewRecord[]>;
}

export const featureChecklistShape = z
  .partialRecord(z.enum(CHECKLIST_FEATURES), z.enum(CHECKLIST_VALUES))
  .describe('FISWG-style feature comparison: each feature similar, different or not_visible');

export const reviewRecordShape = z.object({
  id: z.string().uuid(),
  searchId: z.string().uuid(),
  faceIndex: z.number().int(),
  subjectId: z.string().uuid(),
  decision: z.enum(['confirmed', 'rejected', 'inconclusive']),
  rationale: z.string(),
  keyId: z.string().uuid(),
  holder: z.string().describe('holder of the reviewer key when the decision was made'),
  organization: z.string(),
  checklist: featureChecklistShape.nullable(),
  createdAt: z.string(),
});
