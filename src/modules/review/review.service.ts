import { randomUUID } from 'node:crypto';
import type { Db } from '../../shared/db';
import type { ReviewRepo } from './review.repo';
import { actorOf, type AuditLog } from '../audit/audit.model';
import { canSeeOrganization, holderOf, type Principal } from '../../shared/principal';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../shared/errors';
import { reviewState, stateOf, type FeatureChecklist, type QueueSort, type QueueState, type ReviewDecision, type ReviewRecord } from './review.model';
import { storedCandidate, storedFace, storedFaces, withNames, type SearchStore } from '../search/search.model';
import type { KeyDirectory } from '../key/key.model';
import { decodeQueueCursor, decodeQueueSearchCursor, encodeQueueCursor, encodeQueueSearchCursor } from './queue-cursor';
import type { SubjectDirectory } from '../gallery/gallery.model';
import type { WatchlistAccess } from '../watchlist/watchlist.model';

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
 * not decided on it yet (409). Two keys of one holder count once towards four-eyes (review.model reviewState).
 */
export function createReviewService(d: {
  db: Db;
  searches: SearchStore;
  reviews: ReviewRepo;
  keys: KeyDirectory;
  audit: AuditLog;
  /** Joins candidates' current names (stored results keep subject ids only). */
  subjects: Pick<SubjectDirectory, 'names'>;
  /** What of each candidate the reader may see now (names joined only for watchlists the caller may read). */
  access: Pick<WatchlistAccess, 'disclosure'>;
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
        await reviews.insert(tx, rec);
        const all = (await reviews.listBySearch(tx, searchId)).filter((r) => r.faceIndex === rec.faceIndex && r.subjectId === rec.subjectId);
        const summary = reviewState(all);
        // The rationale is free text that may name people: the chain keeps its HMAC (audit.model textHmac), not the text, which
        // is in the review row and the event's audit_text row (both redactable on erasure).
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
            ...(rec.checklist ? { checklist: rec.checklist } : {}),
            stateAfter: summary.state,
          },
          text: { rationale: rec.rationale },
        }, new Date(rec.createdAt));
        return { ...rec, candidateReview: summary, audit: { seq: ev.seq, hash: ev.hash } };
      });
    },

    /**
     * The caller's work queue, oldest search first: candidates of visible 1:N searches not run by the caller's holder, not yet
     * decided by that holder, and still open (neither confirmed nor rejected under review.model's rule). Items carry no
     * decisions of other reviewers (blind verification).
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
      const level = await d.access.disclosure(db, p);
      const items = page.map((r) => ({ ...r, candidate: withNames(r.candidate, names.get(r.candidate.subjectId), level(r.candidate.watchlistId)) }));
      return { items, nextCursor: rows.length > f.limit && last ? encodeQueueCursor(last) : null };
    },

    /**
     * The grouped queue: searches → probe faces → candidates, `limit` searches a page. Blind: on a candidate this holder has not
     * decided, nobody's decision shows; its state reads `blind`, or `disputed` when reviewers disagree (a third reviewer must
     * know the candidate awaits a tie-break, not who decided what). On one they decided: their decision and the state now.
     */
    async queueSearches(p: Principal, f: { sort: QueueSort; state: QueueState; caseRef?: string; watchlistId?: string; organization?: string; cursor?: string; limit: number }) {
      const organization = p.organization === '*' ? (f.organization ?? null) : p.organization;
      if (p.organization !== '*' && f.organization && f.organization !== p.organization) return { items: [], nextCursor: null };
      const rows = await reviews.queueSearches(db, {
        organization,
        holder: holderOf(p),
        keyId: p.keyId,
        caseRef: f.caseRef,
        watchlistId: f.watchlistId,
        state: f.state,
        sort: f.sort,
        after: decodeQueueSearchCursor(f.cursor, f.sort),
        limit: f.limit + 1,
      });
      const ids = [...new Set(rows.map((r) => r.searchId))];
      const pageIds = new Set(ids.slice(0, f.limit));
      const inPage = rows.filter((r) => pageIds.has(r.searchId));
      const candidates = inPage.map((r) => storedCandidate.parse(r.candidate));
      const names = await d.subjects.names(db, candidates.map((c) => c.subjectId));
      const level = await d.access.disclosure(db, p);
      const groups = new Map<string, { searchId: string; createdAt: string; mode: string; purpose: string; caseRef: string; organization: string; bestFmr: number; faces: Map<number, { faceIndex: number; quality: ReturnType<typeof queuedFace.parse>['quality']; candidates: unknown[] }> }>();
      inPage.forEach((r, i) => {
        const g = groups.get(r.searchId) ?? { searchId: r.searchId, createdAt: r.createdAt, mode: r.mode, purpose: r.purpose, caseRef: r.caseRef, organization: r.organization, bestFmr: r.bestFmr, faces: new Map() };
        groups.set(r.searchId, g);
        const face = g.faces.get(r.faceIndex) ?? { faceIndex: r.faceIndex, quality: queuedFace.parse(r.face).quality, candidates: [] };
        g.faces.set(r.faceIndex, face);
        const c = candidates[i]!;
        const state = stateOf(r.confirmations, r.rejections, r.decisions);
        const review = r.ownDecision
          ? { state, confirmations: r.confirmations, rejections: r.rejections }
          : { state: state === 'disputed' ? ('disputed' as const) : ('blind' as const) };
        face.candidates.push({ ...withNames(c, names.get(c.subjectId), level(c.watchlistId)), review, ownDecision: r.ownDecision });
      });
      const items = [...groups.values()].map(({ faces, bestFmr: _best, ...g }) => ({ ...g, faces: [...faces.values()] }));
      const last = [...groups.values()].at(-1);
      return {
        items,
        nextCursor: ids.length > f.limit && last ? encodeQueueSearchCursor({ sort: f.sort, createdAt: last.createdAt, searchId: last.searchId, bestFmr: last.bestFmr }) : null,
      };
    },
  };
}

export type ReviewService = ReturnType<typeof createReviewService>;
