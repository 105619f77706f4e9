import { createHash, randomUUID } from 'node:crypto';
import type { AuditRepo } from '../infra/db/audit.repo';
import type { Db } from '../infra/db/db';
import type { ReviewRecord, ReviewRepo } from '../infra/db/review.repo';
import type { SearchRepo } from '../infra/db/search.repo';
import { SQLSTATE, sqlState } from '../infra/db/sqlstate';
import { actorOf } from './actor';
import { canSeeOrganization, holderOf, type Principal } from './api-key';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from './errors';
import { reviewState, type ReviewDecision } from './review-state';
import { storedCandidate, storedFace, storedFaces, withNames } from './search-result';
import type { FeatureChecklist } from './feature-checklist';
import type { KeyRepo } from '../infra/db/key.repo';
import { decodeQueueCursor, encodeQueueCursor } from './queue-cursor';
import type { SubjectRepo } from '../infra/db/subject.repo';

/** What the review queue shows of a candidate's probe face (read from the stored result, review.repo queue). */
const queuedFace = storedFace.pick({ box: true, quality: true });

export interface ReviewInput {
  faceIndex: number;
  subjectId: string;
  decision: ReviewDecision;
  rationale: string;
  checklist?: FeatureChecklist;
}


/**
 * Four-eyes review of search candidates. A decision is stored and audited (`review.recorded`) in one transaction.
 * Checks, in order: the search is visible to the reviewer (else 404, no existence leak), neither the reviewer's key nor another
 * key of the same holder ran it (403), the (faceIndex, subjectId) pair is a candidate of that stored result (400), this key has
 * not decided on it yet (409). Two keys of one holder count once towards four-eyes (review-state.ts).
 */
export function createReviewService(d: {
  db: Db;
  searches: SearchRepo;
  reviews: ReviewRepo;
  keys: KeyRepo;
  audit: AuditRepo;
  /** Joins candidates' current names (stored results keep subject ids only). */
  subjects: Pick<SubjectRepo, 'names'>;
  clock?: () => Date;
}) {
  const now = d.clock ?? (() => new Date());
  const { db, searches, reviews, audit } = d;

  return {
    async record(p: Principal, searchId: string, input: ReviewInput) {
      return db.transaction(async (tx) => {
        // Locked before anything is read: two simultaneous decisions on one search must not both miss each other (four-eyes).
        const s = await searches.get(tx, searchId, { forUpdate: true });
        if (!s || !canSeeOrganization(p, s.organization)) throw new NotFoundError('Search');
        if (s.keyId === p.keyId) throw new ForbiddenError('A reviewer cannot review a search that the same API key ran.');
        const searcherKey = await d.keys.findById(tx, s.keyId);
        if (searcherKey && searcherKey.holder === holderOf(p)) throw new ForbiddenError('A reviewer cannot review a search that they ran (with another key).');
        const isCandidate = storedFaces(s).some((f) => f.faceIndex === input.faceIndex && f.candidates.some((c) => c.subjectId === input.subjectId));
        if (!isCandidate) {
          throw new ValidationError('The (faceIndex, subjectId) pair is not a candidate of this search.', { faceIndex: input.faceIndex, subjectId: input.subjectId });
        }

        const rec: ReviewRecord = {
          id: randomUUID(),
          searchId,
          faceIndex: input.faceIndex,
          subjectId: input.subjectId,
          decision: input.decision,
          rationale: input.rationale,
          keyId: p.keyId,
          holder: holderOf(p),
          organization: p.organization,
          checklist: input.checklist ?? null,
          createdAt: now().toISOString(),
        };
        try {
          await reviews.insert(tx, rec);
        } catch (e) {
          if (sqlState(e) === SQLSTATE.UNIQUE_VIOLATION) throw new ConflictError('This API key has already reviewed this candidate.');
          throw e;
        }
        const all = (await reviews.listBySearch(tx, searchId)).filter((r) => r.faceIndex === rec.faceIndex && r.subjectId === rec.subjectId);
        const summary = reviewState(all);
        // The rationale is free text that may name people: the chain keeps its SHA-256 (proving the stored text unchanged), not the text.
        const ev = await audit.append(tx, {
          type: 'review.recorded',
          actor: actorOf(p),
          subjectIds: [rec.subjectId],
          searchId,
          payload: {
            reviewId: rec.id,
            faceIndex: rec.faceIndex,
            subjectId: rec.subjectId,
            decision: rec.decision,
            rationaleSha256: createHash('sha256').update(rec.rationale).digest('hex'),
            ...(rec.checklist ? { checklist: rec.checklist } : {}),
            stateAfter: summary.state,
          },
        }, new Date(rec.createdAt));
        return { ...rec, candidateReview: summary, audit: { seq: ev.seq, hash: ev.hash } };
      });
    },

    /**
     * The caller's work queue, oldest search first: candidates of visible 1:N searches not run by the caller's holder, not yet
     * decided by that holder, and still open (no rejection, fewer than two confirming holders). Items carry no decisions of
     * other reviewers (blind verification).
     */
    async queue(p: Principal, f: { cursor?: string; limit: number }) {
      const rows = await reviews.queue(db, {
        organization: p.organization === '*' ? null : p.organization,
        holder: holderOf(p),
        keyId: p.keyId,
        after: decodeQueueCursor(f.cursor),
        limit: f.limit + 1,
      });
      // The candidate and its face come out of the stored result's jsonb: read through its schema like any stored result.
      const page = rows.slice(0, f.limit).map((r) => ({ ...r, face: queuedFace.parse(r.face), candidate: storedCandidate.parse(r.candidate) }));
      const last = page[page.length - 1];
      // Names are joined when read, as for searches: an erased subject shows as erased.
      const names = await d.subjects.names(db, page.map((r) => r.candidate.subjectId));
      const items = page.map((r) => ({ ...r, candidate: withNames(r.candidate, names.get(r.candidate.subjectId)) }));
      return { items, nextCursor: rows.length > f.limit && last ? encodeQueueCursor(last) : null };
    },
  };
}

export type ReviewService = ReturnType<typeof createReviewService>;
