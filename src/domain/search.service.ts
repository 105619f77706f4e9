import { randomUUID } from 'node:crypto';
import type { AuditRepo } from '../infra/db/audit.repo';
import type { Db, Queryable } from '../infra/db/db';
import type { FaceRepo } from '../infra/db/face.repo';
import type { ReviewRepo } from '../infra/db/review.repo';
import type { SearchRecord, SearchRepo } from '../infra/db/search.repo';
import type { SubjectRepo } from '../infra/db/subject.repo';
import { actorOf } from './actor';
import { canSeeOrganization, hasRole, holderOf, type Principal } from './api-key';
import type { Calibration } from './calibration';
import { similarityFromCosineDistance } from './calibration';
import { decodeCursor, page } from './cursor';
import { ForbiddenError, NoFaceError, NotFoundError } from './errors';
import type { NoticeRepo } from '../infra/db/notice.repo';
import type { WatchlistAccess } from './watchlist.service';
import type { FaceEngine } from './face.types';
import { keepCandidates, reviewDecision, verifyBand, type Candidate, type FaceResult, type SearchMode } from './matching-policy';
import { blindFor, withReviewState } from './review-state';
import {
  readStoredRecord,
  withNames as candidateWithNames,
  storedSearchResult,
  storedVerifyResult,
  STORED_RESULT_VERSION,
  type ShownRecord,
  type ShownSearchResult,
  type StoredSearchResult,
} from './search-result';

export interface SearchParams {
  purpose: string;
  caseRef: string;
  mode: SearchMode;
  topK: number;
  minSimilarity?: number;
  /** Caller's cap on a candidate's calibrated false-match rate (matching-policy keepCandidates). */
  maxFalseMatchRate?: number;
  watchlists?: string[];
  categories?: string[];
}

export interface SearchServiceDeps {
  db: Db;
  faces: FaceRepo;
  subjects: SubjectRepo;
  searches: SearchRepo;
  audit: AuditRepo;
  /** When given, `get` attaches each candidate's review state and the search's reviews to the result. */
  reviews?: ReviewRepo;
  engine: () => FaceEngine;
  access: WatchlistAccess;
  notices: NoticeRepo;
  calibration: (modelId: string) => Calibration;
  settings: { screeningTargetFmr: number; verifyTargetFmr: number; verifyNearMissFactor: number; ambiguityMargin: number; probeMinQuality: number };
  onSearch?: (mode: string) => void;
  /** When given, each probe face's aligned crop is kept (probe-face.service.ts), in the search's transaction. */
  storeProbeCrop?: (tx: Queryable, searchId: string, faceIndex: number, jpeg: Buffer, createdAt: string) => Promise<void>;
  clock?: () => Date;
  /**
   * Where listings may read (a read replica within its lag bound, else the primary). Searches, verifications (their kNN reads
   * the gallery inside the transaction that appends their audit event) and `get` (read right after POST) use `db`.
   */
  reads?: () => Queryable;
}

const round = (x: number, digits = 6) => Math.round(x * 10 ** digits) / 10 ** digits;
const fmrRound = (x: number) => Number(x.toPrecision(3));

/** 1:N search and 1:1 verification. Each result is stored and audited in one transaction: no audit, no result. */
export function createSearchService(d: SearchServiceDeps) {
  const now = d.clock ?? (() => new Date());
  const { db, faces, searches, audit } = d;
  const reads = d.reads ?? (() => db);

  /** Stored candidates carry subject ids only; the current name and watchlist name are joined here (erased → null, erased: true). */
  async function withNames(result: StoredSearchResult): Promise<ShownSearchResult> {
    const names = await d.subjects.names(db, result.faces.flatMap((f) => f.candidates.map((c) => c.subjectId)));
    return { ...result, faces: result.faces.map((f) => ({ ...f, candidates: f.candidates.map((c) => candidateWithNames(c, names.get(c.subjectId))) })) };
  }

  const modelOf = (e: FaceEngine) => ({ id: e.model.id, detector: e.model.detector, embedder: e.model.embedder, version: e.model.version, weightsSha256: e.model.weightsSha256 });

  /**
   * Appends the audit event and stores the result, parsed by the stored schema of its kind first (search-result.ts): what is
   * written is what every reader will parse. Returns the stored result.
   */
  async function record<T extends Record<string, unknown>>(
    tx: Parameters<Parameters<Db['transaction']>[0]>[0],
    rec: Omit<SearchRecord, 'result'>,
    parse: (raw: unknown) => T,
    result: (audit: { seq: number; hash: string; prevHash: string }) => Record<string, unknown>,
    auditPayload: Record<string, unknown>,
    subjectIds: string[],
    p: Principal,
  ): Promise<T> {
    const ev = await audit.append(tx, {
      type: rec.kind === 'search' ? 'search.run' : 'verify.run',
      actor: actorOf(p),
      subjectIds: [...new Set(subjectIds)],
      searchId: rec.id,
      payload: auditPayload,
    }, new Date(rec.createdAt));
    const stored = parse({ ...result(ev), audit: { seq: ev.seq, hash: ev.hash } });
    await searches.insert(tx, { ...rec, result: stored });
    return stored;
  }

  /**
   * Hit notices for the owners of foreign watchlists whose subjects this search or verification returned at or above the
   * screening threshold, in the caller's transaction (so they exist exactly when the search does), one per subject.
   */
  async function notify(
    tx: Parameters<Parameters<Db['transaction']>[0]>[0],
    p: Principal,
    s: { searchId: string; at: string; mode: string; purpose: string; caseRef: string },
    hits: Array<{ subjectId: string; watchlistId: string; similarity: number; fmr: number }>,
    owners: Map<string, string>,
  ) {
    const best = new Map<string, (typeof hits)[number]>();
    for (const h of hits) if ((best.get(h.subjectId)?.similarity ?? -1) < h.similarity) best.set(h.subjectId, h);
    for (const h of best.values()) {
      await d.notices.insert(
        tx,
        {
          id: randomUUID(),
          at: s.at,
          organization: owners.get(h.subjectId)!,
          watchlistId: h.watchlistId,
          subjectId: h.subjectId,
          searchId: s.searchId,
          searchingOrganization: p.organization,
          mode: s.mode,
          similarity: h.similarity,
          estimatedFalseMatchRate: h.fmr,
          purpose: s.purpose,
          caseRef: s.caseRef,
        },
        randomUUID(),
      );
    }
  }

  return {
    async search(p: Principal, image: Buffer, params: SearchParams) {
      // Named watchlists are resolved before any face analysis: one the caller cannot search is UNKNOWN_WATCHLIST, never "no hit".
      const named = params.watchlists?.length ? await d.access.searchableByRefs(db, p, params.mode, params.watchlists) : undefined;
      const engine = d.engine();
      const analyzed = await engine.analyze(image, d.storeProbeCrop ? { withCrops: true } : undefined);
      if (analyzed.faces.length === 0) throw new NoFaceError('No face was found in the probe image.');
      const calibration = d.calibration(engine.model.id);
      const policy = {
        screeningThreshold: calibration.thresholdFor(d.settings.screeningTargetFmr),
        ambiguityMargin: d.settings.ambiguityMargin,
        probeMinQuality: d.settings.probeMinQuality,
      };
      const id = randomUUID();
      const createdAt = now().toISOString();

      const out = await db.transaction(async (tx) => {
        // The gallery snapshot recorded below is the chain position before this search's event: no audited gallery change may
        // commit between the kNN reads and that event, so the append lock is taken before reading. It serialises searches'
        // database phase (kNN + insert, milliseconds); inference runs before, outside the transaction.
        await audit.lock(tx);
        const templates = await faces.countTemplates(tx, engine.model.id);
        const at = new Date(createdAt);
        const scope = { organization: p.organization, mode: params.mode, at, watchlistIds: named };
        const owners = new Map<string, string>();
        const faceResults: FaceResult[] = [];
        for (const [faceIndex, f] of analyzed.faces.entries()) {
          const rows = await faces.nearestSubjects(tx, {
            embedding: f.embedding,
            modelId: engine.model.id,
            topK: params.topK,
            scope,
            categories: params.categories,
          });
          const all: Candidate[] = rows.map((r, i) => {
            const similarity = similarityFromCosineDistance(r.distance);
            owners.set(r.subjectId, r.owner);
            return {
              rank: i + 1,
              subjectId: r.subjectId,
              category: r.category,
              watchlistId: r.watchlistId,
              faceId: r.faceId,
              similarity: round(similarity),
              estimatedFalseMatchRate: fmrRound(calibration.fmrAt(similarity)),
            };
          });
          faceResults.push({
            faceIndex,
            box: f.box,
            quality: { score: round(f.quality.score, 3), issues: f.quality.issues },
            candidates: keepCandidates(params.mode, all, policy, { minSimilarity: params.minSimilarity, maxFalseMatchRate: params.maxFalseMatchRate }),
          });
        }
        const decision = reviewDecision(faceResults, policy);
        const result = {
          version: STORED_RESULT_VERSION,
          searchId: id,
          createdAt,
          mode: params.mode,
          probe: { sha256: analyzed.sha256, width: analyzed.width, height: analyzed.height, facesDetected: analyzed.faces.length },
          faces: faceResults,
          ...decision,
          thresholds: {
            screeningSimilarity: round(policy.screeningThreshold),
            screeningTargetFmr: d.settings.screeningTargetFmr,
            maxFalseMatchRate: params.maxFalseMatchRate ?? null,
          },
          model: modelOf(engine),
        };
        const candidateSummary = faceResults.flatMap((f) =>
          f.candidates.map((c) => ({ faceIndex: f.faceIndex, subjectId: c.subjectId, watchlistId: c.watchlistId, faceId: c.faceId, similarity: c.similarity, fmr: c.estimatedFalseMatchRate })),
        );
        // The watchlists this search could see (for oversight: searches per watchlist and per partner).
        const searched = await d.access.searchableIds(tx, p, params.mode);
        const scopeIds = named ? searched.filter((w) => named.includes(w)) : searched;
        const stored = await record(
          tx,
          { id, kind: 'search', organization: p.organization, keyId: p.keyId, mode: params.mode, purpose: params.purpose, caseRef: params.caseRef, probeSha256: analyzed.sha256, modelId: engine.model.id, params: { ...params, watchlistIds: scopeIds }, createdAt },
          (raw) => storedSearchResult.parse(raw),
          // The gallery state searched: the audit chain position just before this search (every gallery change is an event).
          (ev) => ({ ...result, gallery: { templates, snapshot: `${ev.seq - 1}:${ev.prevHash.slice(0, 16)}` } }),
          {
            purpose: params.purpose,
            caseRef: params.caseRef,
            mode: params.mode,
            params: { topK: params.topK, minSimilarity: params.minSimilarity ?? null, maxFalseMatchRate: params.maxFalseMatchRate ?? null, watchlists: params.watchlists ?? null, categories: params.categories ?? null },
            probeSha256: analyzed.sha256,
            facesDetected: analyzed.faces.length,
            modelId: engine.model.id,
            galleryTemplates: templates,
            candidates: candidateSummary,
            humanReviewRequired: decision.humanReviewRequired,
            reviewReasons: decision.reviewReasons,
          },
          candidateSummary.map((c) => c.subjectId),
          p,
        );
        const hits = candidateSummary.filter((c) => c.similarity >= policy.screeningThreshold && owners.get(c.subjectId) !== p.organization);
        await notify(tx, p, { searchId: id, at: createdAt, mode: params.mode, purpose: params.purpose, caseRef: params.caseRef }, hits, owners);
        if (d.storeProbeCrop) {
          for (const [faceIndex, f] of analyzed.faces.entries()) {
            if (f.cropJpeg) await d.storeProbeCrop(tx, id, faceIndex, f.cropJpeg, createdAt);
          }
        }
        return stored;
      });
      d.onSearch?.(params.mode);
      return withNames(out);
    },

    async verify(p: Principal, image: Buffer, subjectId: string, ctx: { purpose: string; caseRef: string }) {
      const subject = await d.subjects.get(db, subjectId);
      if (!subject) throw new NotFoundError('Subject');
      const { watchlist, access } = await d.access.read(db, p, subject.watchlistId).catch(() => {
        throw new NotFoundError('Subject');
      });
      if (access === 'screen') throw new ForbiddenError('A screen grant allows screening searches only, not 1:1 verification.');
      if (p.organization === '*' && watchlist.organization !== '*') throw new NotFoundError('Subject');
      const engine = d.engine();
      const analyzed = await engine.analyze(image);
      if (analyzed.faces.length === 0) throw new NoFaceError('No face was found in the probe image.');
      const calibration = d.calibration(engine.model.id);
      const { threshold, nearMissThreshold } = verifyBand(calibration, d.settings.verifyTargetFmr, d.settings.verifyNearMissFactor);
      const id = randomUUID();
      const createdAt = now().toISOString();

      return db.transaction(async (tx) => {
        // Every probe face against every template of the subject; the best pair decides.
        let best: { faceId: string; distance: number; probeFace: number } | null = null;
        for (const [i, f] of analyzed.faces.entries()) {
          const [top] = await faces.distancesForSubject(tx, subjectId, engine.model.id, f.embedding);
          if (top && (!best || top.distance < best.distance)) best = { ...top, probeFace: i };
        }
        if (!best) throw new NotFoundError(`Templates of this subject for model ${engine.model.id}`);
        const similarity = similarityFromCosineDistance(best.distance);
        const match = similarity >= threshold;
        const nearMiss = !match && similarity >= nearMissThreshold;
        const probeQuality = analyzed.faces[best.probeFace]!.quality;
        const reviewReasons = [
          ...(match ? ['CANDIDATES_ARE_LEADS_ONLY'] : []),
          ...(nearMiss ? ['NEAR_MISS'] : []),
          ...(probeQuality.score < d.settings.probeMinQuality ? ['LOW_PROBE_QUALITY'] : []),
          ...(analyzed.faces.length > 1 ? ['MULTIPLE_PROBE_FACES'] : []),
        ];
        const result = {
          version: STORED_RESULT_VERSION,
          verificationId: id,
          createdAt,
          subjectId,
          match,
          similarity: round(similarity),
          estimatedFalseMatchRate: fmrRound(calibration.fmrAt(similarity)),
          threshold: round(threshold),
          targetFmr: d.settings.verifyTargetFmr,
          nearMissThreshold: round(nearMissThreshold),
          bestFaceId: best.faceId,
          probe: { sha256: analyzed.sha256, width: analyzed.width, height: analyzed.height, facesDetected: analyzed.faces.length },
          humanReviewRequired: reviewReasons.length > 0,
          reviewReasons,
          model: modelOf(engine),
        };
        const stored = await record(
          tx,
          { id, kind: 'verify', organization: p.organization, keyId: p.keyId, mode: 'verify', purpose: ctx.purpose, caseRef: ctx.caseRef, probeSha256: analyzed.sha256, modelId: engine.model.id, params: { subjectId }, createdAt },
          (raw) => storedVerifyResult.parse(raw),
          () => result,
          { purpose: ctx.purpose, caseRef: ctx.caseRef, probeSha256: analyzed.sha256, modelId: engine.model.id, match, similarity: result.similarity, fmr: result.estimatedFalseMatchRate, threshold: result.threshold, nearMiss, nearMissThreshold: result.nearMissThreshold, bestFaceId: best.faceId },
          [subjectId],
          p,
        );
        if (match && watchlist.organization !== p.organization) {
          const hit = { subjectId, watchlistId: watchlist.id, similarity: result.similarity, fmr: result.estimatedFalseMatchRate };
          await notify(tx, p, { searchId: id, at: createdAt, mode: 'verify', ...ctx }, [hit], new Map([[subjectId, watchlist.organization]]));
        }
        d.onSearch?.('verify');
        return stored;
      });
    },

    /**
     * A stored search, if the caller may see it. Another organization's search is reported as not found (no existence leak).
     * A reviewer key without the auditor role gets the blind view (review-state.ts blindFor) of candidates they have not decided.
     */
    async get(p: Principal, id: string): Promise<ShownRecord> {
      const s = await searches.get(db, id);
      if (!s || !canSeeOrganization(p, s.organization)) throw new NotFoundError('Search');
      const rec = readStoredRecord(s);
      const reviews = d.reviews ? await d.reviews.listBySearch(db, id) : null;
      const blind = hasRole(p, 'reviewer') && !hasRole(p, 'auditor');
      // A verification has no candidates, so nothing of it can be reviewed (review.service refuses): its reviews list is empty.
      if (rec.kind === 'verify') return reviews ? { ...rec, result: { ...rec.result, reviews: [], ...(blind ? { blind: true as const } : {}) } } : rec;
      const result = await withNames(rec.result);
      if (!reviews) return { ...rec, result };
      return { ...rec, result: blind ? blindFor(result, reviews, holderOf(p)) : withReviewState(result, reviews) };
    },

    async list(p: Principal, f: { from?: Date; to?: Date; caseRef?: string; cursor?: string; limit: number }) {
      const rows = await searches.list(reads(), {
        organization: p.organization === '*' ? null : p.organization,
        from: f.from,
        to: f.to,
        caseRef: f.caseRef,
        after: decodeCursor(f.cursor),
        limit: f.limit + 1,
      });
      return page(rows, f.limit);
    },
  };
}

export type SearchService = ReturnType<typeof createSearchService>;
