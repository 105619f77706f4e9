import { createHash, randomUUID } from 'node:crypto';
import type { Db, Queryable } from '../../shared/db';
import type { SearchRepo } from './search.repo';
import type { SearchRecord } from './search.model';
import type { SubjectDirectory, TemplateIndex } from '../gallery/gallery.model';
import type { ReviewLog } from '../review/review.model';
import { actorOf, type AuditLog } from '../audit/audit.model';
import { canSeeOrganization, hasRole, holderOf, type Principal } from '../../shared/principal';
import type { Calibration } from '../../shared/calibration';
import { similarityFromCosineDistance } from '../../shared/calibration';
import { decodeCursor, page } from '../../shared/cursor';
import { AppError, DecoderUnavailableError, ForbiddenError, NoFaceError, NotFoundError } from '../../shared/errors';
import type { NoticeSink } from '../notice/notice.model';
import type { PurposeCheck } from '../purpose/purpose.model';
import type { WatchlistAccess } from '../watchlist/watchlist.model';
import type { AnalyzedImage, DetectedFace, FaceEngine } from '../../shared/face.types';
import { keepCandidates, reviewDecision, verifyBand, type Candidate, type FaceResult, type SearchMode } from './matching-policy';
import { blindFor, withReviewState } from './search-view';
import { buildTracks, type FaceTrack } from './face-tracks';
import type { VideoDecoder, VideoFrames } from '../../shared/video.types';
import type { FederationContext, SearchHooks, SearchParams } from './search.model';
import {
  readStoredRecord,
  withNames as candidateWithNames,
  storedSearchResult,
  storedVerifyResult,
  STORED_RESULT_VERSION,
  type ShownRecord,
  type ShownSearchResult,
  type StoredSearchResult,
} from './search.model';

export type { SearchParams } from './search.model';

/** What a caller adds to one search (search.model.ts SearchHooks: the screening job runner). */
export type { SearchHooks } from './search.model';

/**
 * What a video search adds to the generic search: per stored face its track, and to the result and audit event the clip (a
 * reverse screening adds its grant and probe template to both).
 */
interface SearchExtra {
  faces?: Array<Record<string, unknown>>;
  result?: Record<string, unknown>;
  audit?: Record<string, unknown>;
}

/** Faces of the sampled frames analysed at once (the engine's queue holds the rest of the service's requests too). */
const FRAME_CONCURRENCY = 2;

export interface SearchServiceDeps {
  db: Db;
  faces: TemplateIndex;
  subjects: SubjectDirectory;
  searches: SearchRepo;
  audit: AuditLog;
  /** When given, `get` attaches each candidate's review state and the search's reviews to the result. */
  reviews?: ReviewLog;
  engine: () => FaceEngine;
  access: WatchlistAccess;
  notices: NoticeSink;
  /** The purpose policy every search and verification is held to (checked before any face analysis). */
  purposes: PurposeCheck;
  calibration: (modelId: string) => Calibration;
  settings: { screeningTargetFmr: number; verifyTargetFmr: number; verifyNearMissFactor: number; ambiguityMargin: number; probeMinQuality: number };
  onSearch?: (mode: string) => void;
  /** The video decoder found at start (platform/video), or null: POST /v1/searches/video then answers 501 DECODER_UNAVAILABLE. */
  video?: () => VideoDecoder | null;
  /** When given, each probe face's aligned crop is kept (probe-face.service.ts), in the search's transaction. */
  storeProbeCrop?: (tx: Queryable, searchId: string, faceIndex: number, jpeg: Buffer, createdAt: string) => Promise<void>;
  clock?: () => Date;
  /**
   * Where listings may read (a read replica within its lag bound, else the primary). Searches (their snapshot's position must
   * be the primary's chain), verifications and `get` (read right after POST) use `db`.
   */
  reads?: () => Queryable;
  /**
   * Where a search's gallery snapshot (its REPEATABLE READ kNN transaction) runs: the primary by default; with KNN_ON_REPLICA
   * the read replica while it is within its lag bound. The position the snapshot holds is recorded either way, and the
   * candidates are re-checked on the primary under the append lock, so erasures and revocations still count from their
   * acknowledgement; a replica only misses enrolments younger than its lag.
   */
  gallerySnapshot?: <T>(fn: (tx: Queryable) => Promise<T>) => Promise<T>;
}

/** Snapshot reads of one search before it gives up with 503 when each one's candidates were erased or put out of reach meanwhile. */
const MAX_GALLERY_READS = 3;

/**
 * Tracking bars, as calibrated false-match rates of the model (face-tracks.ts): a face whose box overlaps the track's last one
 * joins at a lenient bar (pose and blur change between frames); one elsewhere in the frame only at a strict one. A track
 * may miss TRACK_MAX_GAP_SECONDS of frames (a turned head, a passer-by in front) and still be continued.
 */
const TRACK_LINK_FMR = 0.05;
const TRACK_REACQUIRE_FMR = 1e-3;
const TRACK_MIN_IOU = 0.2;
const TRACK_MAX_GAP_SECONDS = 2;

const round = (x: number, digits = 6) => Math.round(x * 10 ** digits) / 10 ** digits;
const fmrRound = (x: number) => Number(x.toPrecision(3));

/** 1:N search and 1:1 verification. Each result is stored and audited in one transaction: no audit, no result. */
export function createSearchService(d: SearchServiceDeps) {
  const now = d.clock ?? (() => new Date());
  const { db, faces, searches, audit } = d;
  const reads = d.reads ?? (() => db);

  /**
   * Stored candidates carry subject ids only; the current name and watchlist name are joined here (erased → null, erased: true),
   * and only where the reader may see them now (WatchlistAccess.disclosure): a screen grantee gets the hit and the owner's
   * reference, a grantee whose grant was revoked or expired nothing more. `asStored` (a partner deployment's search, whose
   * answer the federation module cuts to the grant's terms) joins every name.
   */
  async function withNames(p: Principal, result: StoredSearchResult, asStored = false): Promise<ShownSearchResult> {
    const names = await d.subjects.names(db, result.faces.flatMap((f) => f.candidates.map((c) => c.subjectId)));
    const level = asStored ? () => 'full' as const : await d.access.disclosure(db, p);
    return { ...result, faces: result.faces.map((f) => ({ ...f, candidates: f.candidates.map((c) => candidateWithNames(c, names.get(c.subjectId), level(c.watchlistId))) })) };
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
    result: Record<string, unknown>,
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
      // Purpose and case reference enter the chain as HMACs only (audit.model textHmac): the text is in the search row.
      text: { purpose: rec.purpose, caseRef: rec.caseRef },
    }, new Date(rec.createdAt));
    const stored = parse({ ...result, audit: { seq: ev.seq, hash: ev.hash } });
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
    s: { searchId: string; at: string; mode: string; purpose: string; caseRef: string; federation?: FederationContext },
    hits: Array<{ subjectId: string; watchlistId: string; similarity: number; fmr: number }>,
    owners: Map<string, string>,
  ) {
    const best = new Map<string, (typeof hits)[number]>();
    for (const h of hits) if ((best.get(h.subjectId)?.similarity ?? -1) < h.similarity) best.set(h.subjectId, h);
    for (const h of best.values()) {
      await d.notices.record(tx, {
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
        ...(s.federation ? { federation: s.federation } : {}),
      });
    }
  }

  async function resolveNamed(p: Principal, params: SearchParams): Promise<string[] | undefined> {
    return params.watchlists?.length ? d.access.searchableByRefs(db, p, params.mode, params.watchlists) : undefined;
  }

  /**
   * A search or verification that received a photo and was refused (a 4xx: NO_FACE, UNKNOWN_WATCHLIST, an undecodable image, a
   * purpose the policy refuses …) is audited as `search.failed` / `verify.failed` with its reason, purpose and case (as HMACs,
   * the text in the event's audit_text row), and the photo's SHA-256; nothing else of the photo is kept (no template, no crop: both exist only in memory until the error). Failures of
   * the service itself (5xx) are not attributed to the caller. If the audit write fails, that error is the answer.
   */
  async function audited<T>(
    kind: 'search' | 'verify',
    p: Principal,
    image: Buffer,
    stated: { purpose: string; caseRef: string },
    context: Record<string, unknown>,
    run: () => Promise<T>,
    onRefused?: (tx: Queryable, e: AppError) => Promise<void>,
  ): Promise<T> {
    try {
      return await run();
    } catch (e) {
      if (!(e instanceof AppError) || e.status >= 500) throw e;
      await db.transaction(async (tx) => {
        await audit.append(tx, {
          type: kind === 'search' ? 'search.failed' : 'verify.failed',
          actor: actorOf(p),
          payload: { ...context, code: e.code, probeSha256: createHash('sha256').update(image).digest('hex') },
          text: { purpose: stated.purpose, caseRef: stated.caseRef },
        }, now());
        await onRefused?.(tx, e);
      });
      throw e;
    }
  }

  async function runSearch(
    p: Principal,
    engine: FaceEngine,
    analyzed: AnalyzedImage,
    params: SearchParams,
    named: string[] | undefined,
    within?: (tx: Queryable, stored: StoredSearchResult) => Promise<void>,
    extra?: SearchExtra,
  ): Promise<ShownSearchResult> {
    if (analyzed.faces.length === 0) throw new NoFaceError('No face was found in the probe image.');
    const detail = params.detail ?? 'standard';
    const calibration = d.calibration(engine.model.id);
    const policy = {
      screeningThreshold: calibration.thresholdFor(d.settings.screeningTargetFmr),
      ambiguityMargin: d.settings.ambiguityMargin,
      probeMinQuality: d.settings.probeMinQuality,
    };
    const id = randomUUID();
    const createdAt = now().toISOString();

    // Two transactions. The gallery is read in a REPEATABLE READ snapshot without the audit append lock (audit.repo
    // snapshotHead), and the highest audit seq that snapshot holds is recorded as the gallery position: audited changes commit
    // in seq order, so the snapshot holds exactly the gallery changes up to it. Only the second transaction (the search's event,
    // its stored result, notices, crops) takes the lock, for the inserts alone: searches' kNN reads run in parallel, with each
    // other and with gallery changes (docs/SCALING.md, "The serial phase of a search").
    const snapshot = d.gallerySnapshot ?? (<T>(fn: (tx: Queryable) => Promise<T>) => db.transaction(fn));
    const readGallery = () => snapshot(async (tx) => {
      const position = await audit.snapshotHead(tx);
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
            ...(r.qualityOverruled ? { qualityOverruled: true as const } : {}),
          };
        });
        faceResults.push({
          faceIndex,
          box: f.box,
          quality: { score: round(f.quality.score, 3), issues: f.quality.issues },
          ...extra?.faces?.[faceIndex],
          candidates: keepCandidates(params.mode, all, policy, { minSimilarity: params.minSimilarity, maxFalseMatchRate: params.maxFalseMatchRate }),
        });
      }
      // The watchlists this search could see (for oversight: searches per watchlist and per partner), in the same snapshot.
      const searched = await d.access.searchableIds(tx, p, params.mode);
      return { position, templates, owners, faceResults, searched };
    });

    /**
     * Under the append lock, before its event: were any of the candidates erased, moved to another watchlist, or put out of
     * the caller's reach (a revoked grant, a deleted watchlist) by a change that committed after the snapshot? Such a result
     * is not stored: the search reads the gallery again. Enrolments after the snapshot do not matter (the position names the
     * gallery without them); this keeps the promise that a subject whose erasure (or a watchlist whose revocation) was
     * acknowledged is never named by a search stored after it.
     */
    const outdated = async (tx: Queryable, faceResults: FaceResult[]): Promise<boolean> => {
      const candidates = faceResults.flatMap((f) => f.candidates);
      if (!candidates.length) return false;
      const live = await d.subjects.names(tx, candidates.map((c) => c.subjectId));
      const reachable = new Set(await d.access.searchableIds(tx, p, params.mode));
      return candidates.some((c) => live.get(c.subjectId)?.watchlistId !== c.watchlistId || !reachable.has(c.watchlistId));
    };

    let out: StoredSearchResult | undefined;
    for (let attempt = 1; !out; attempt++) {
      const seen = await readGallery();
      out = await db.transaction(async (tx) => {
        await audit.lock(tx);
        if (await outdated(tx, seen.faceResults)) {
          if (attempt < MAX_GALLERY_READS) return undefined;
          throw new AppError('UNAVAILABLE', 503, 'The gallery kept changing under this search (erasures or revoked access among its candidates); nothing was stored. Retry.', undefined, { 'Retry-After': '1' });
        }
        return store(tx, seen);
      });
    }
    d.onSearch?.(params.mode);
    return withNames(p, out, !!params.federation);

    async function store(tx: Queryable, seen: Awaited<ReturnType<typeof readGallery>>): Promise<StoredSearchResult> {
      const { position, templates, owners, faceResults, searched } = seen;
      const decision = reviewDecision(faceResults, policy);
      const result = {
        version: STORED_RESULT_VERSION,
        searchId: id,
        createdAt,
        mode: params.mode,
        probe: { sha256: analyzed.sha256, width: analyzed.width, height: analyzed.height, facesDetected: analyzed.faces.length, detail },
        faces: faceResults,
        ...decision,
        thresholds: {
          screeningSimilarity: round(policy.screeningThreshold),
          screeningTargetFmr: d.settings.screeningTargetFmr,
          maxFalseMatchRate: params.maxFalseMatchRate ?? null,
        },
        model: modelOf(engine),
        ...extra?.result,
      };
      const candidateSummary = faceResults.flatMap((f) =>
        f.candidates.map((c) => ({ faceIndex: f.faceIndex, subjectId: c.subjectId, watchlistId: c.watchlistId, faceId: c.faceId, similarity: c.similarity, fmr: c.estimatedFalseMatchRate })),
      );
      const scopeIds = named ? searched.filter((w) => named.includes(w)) : searched;
      const stored = await record(
        tx,
        { id, kind: 'search', organization: p.organization, keyId: p.keyId, mode: params.mode, purpose: params.purpose, caseRef: params.caseRef, probeSha256: analyzed.sha256, modelId: engine.model.id, params: { ...params, watchlistIds: scopeIds }, createdAt },
        (raw) => storedSearchResult.parse(raw),
        // The gallery state searched: the audit chain position its snapshot held (every gallery change is an event).
        { ...result, gallery: { templates, snapshot: `${position.seq}:${position.hash.slice(0, 16)}` } },
        {
          mode: params.mode,
          params: { topK: params.topK, minSimilarity: params.minSimilarity ?? null, maxFalseMatchRate: params.maxFalseMatchRate ?? null, watchlists: params.watchlists ?? null, categories: params.categories ?? null, detail },
          probeSha256: analyzed.sha256,
          facesDetected: analyzed.faces.length,
          modelId: engine.model.id,
          galleryTemplates: templates,
          candidates: candidateSummary,
          humanReviewRequired: decision.humanReviewRequired,
          reviewReasons: decision.reviewReasons,
          ...(params.federation ? { federation: params.federation } : {}),
          ...extra?.audit,
        },
        candidateSummary.map((c) => c.subjectId),
        p,
      );
      const hits = candidateSummary.filter((c) => c.similarity >= policy.screeningThreshold && owners.get(c.subjectId) !== p.organization);
      await notify(tx, p, { searchId: id, at: createdAt, mode: params.mode, purpose: params.purpose, caseRef: params.caseRef, federation: params.federation }, hits, owners);
      if (d.storeProbeCrop) {
        for (const [faceIndex, f] of analyzed.faces.entries()) {
          if (f.cropJpeg) await d.storeProbeCrop(tx, id, faceIndex, f.cropJpeg, createdAt);
        }
      }
      await within?.(tx, stored);
      return stored;
    }
  }

  /** The decoder, or 501 DECODER_UNAVAILABLE (checked by the route before the upload is read). */
  function decoder(): VideoDecoder {
    const v = d.video?.() ?? null;
    if (!v) throw new DecoderUnavailableError();
    return v;
  }

  /** Every sampled frame analysed (crops kept: a track's best face is its probe chip), FRAME_CONCURRENCY at a time. */
  async function analyzeFrames(engine: FaceEngine, decoded: VideoFrames, detail: SearchParams['detail']) {
    const out: Array<{ seconds: number; cut: boolean; faces: DetectedFace[]; scale: number }> = new Array(decoded.frames.length);
    let next = 0;
    const work = async () => {
      for (let i = next++; i < decoded.frames.length; i = next++) {
        const f = decoded.frames[i]!;
        const a = await engine.analyze(f.jpeg, { withCrops: !!d.storeProbeCrop, detail: detail ?? 'standard' });
        out[i] = { seconds: f.seconds, cut: f.sceneChange, faces: a.faces, scale: a.width > 0 ? decoded.info.width / a.width : 1 };
      }
    };
    await Promise.all(Array.from({ length: Math.min(FRAME_CONCURRENCY, decoded.frames.length) }, work));
    return out;
  }

  /**
   * A video search: frames sampled by the decoder, faces detected in each and tracked across frames (face-tracks.ts); the
   * best-quality face of each track is one probe face of an ordinary search (stored, reviewed, counted and its chip kept as
   * any probe face), with the track's time range added. The clip itself is never kept; its SHA-256 is the probe's.
   */
  async function runVideo(p: Principal, video: Buffer, params: SearchParams, hooks: SearchHooks = {}) {
    const dec = decoder();
    await d.purposes.check(p, params.purpose);
    const named = await resolveNamed(p, params);
    const engine = d.engine();
    const decoded = await dec.frames(video);
    const frames = await analyzeFrames(engine, decoded, params.detail);
    const calibration = d.calibration(engine.model.id);
    const tracks = buildTracks(frames, {
      linkSimilarity: calibration.thresholdFor(TRACK_LINK_FMR),
      reacquireSimilarity: calibration.thresholdFor(TRACK_REACQUIRE_FMR),
      minIou: TRACK_MIN_IOU,
      // The gap is the time between two members: TRACK_MAX_GAP_SECONDS of missed frames plus one sampling interval.
      maxGapSeconds: TRACK_MAX_GAP_SECONDS + 1 / decoded.sampleFps,
    });
    if (tracks.length === 0) throw new NoFaceError(`No face was found in any of the ${decoded.frames.length} sampled frames of the clip.`);
    const scaleOf = (t: FaceTrack) => frames[t.best.frame]!.scale;
    const box = (t: FaceTrack) => {
      const b = t.best.face.box;
      const k = scaleOf(t);
      return { x: Math.round(b.x * k), y: Math.round(b.y * k), width: Math.round(b.width * k), height: Math.round(b.height * k) };
    };
    const analyzed: AnalyzedImage = {
      sha256: createHash('sha256').update(video).digest('hex'),
      width: decoded.info.width,
      height: decoded.info.height,
      faces: tracks.map((t) => ({ ...t.best.face, box: box(t) })),
    };
    const clip = {
      container: decoded.info.container,
      codec: decoded.info.codec,
      width: decoded.info.width,
      height: decoded.info.height,
      durationSeconds: decoded.info.durationSeconds,
      sampleFps: decoded.sampleFps,
      framesSampled: decoded.frames.length,
      sceneFrames: decoded.sceneFrames,
      facesDetected: frames.reduce((n, f) => n + f.faces.length, 0),
      tracks: tracks.length,
    };
    const interval = 1 / decoded.sampleFps;
    return runSearch(p, engine, analyzed, params, named, hooks.within, {
      faces: tracks.map((t) => ({
        track: {
          startSeconds: t.startSeconds,
          endSeconds: round(t.endSeconds + interval, 3),
          frames: t.members.length,
          bestFrameSeconds: t.best.seconds,
        },
      })),
      result: { video: clip },
      audit: { video: clip, ...hooks.audit },
    });
  }

  async function runVerify(p: Principal, image: Buffer, subjectId: string, ctx: { purpose: string; caseRef: string }) {
    await d.purposes.check(p, ctx.purpose);
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
        result,
        { probeSha256: analyzed.sha256, modelId: engine.model.id, match, similarity: result.similarity, fmr: result.estimatedFalseMatchRate, threshold: result.threshold, nearMiss, nearMissThreshold: result.nearMissThreshold, bestFaceId: best.faceId },
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
  }

  /**
   * A stored search, if the caller may see it. Another organization's search is reported as not found (no existence leak).
   * A reviewer key without the auditor role gets the blind view (review-state.ts blindFor) of candidates they have not decided.
   */
  async function get(p: Principal, id: string): Promise<ShownRecord> {
    const s = await searches.get(db, id);
    if (!s || !canSeeOrganization(p, s.organization)) throw new NotFoundError('Search');
    const rec = readStoredRecord(s);
    const reviews = d.reviews ? await d.reviews.listBySearch(db, id) : null;
    const blind = hasRole(p, 'reviewer') && !hasRole(p, 'auditor');
    // A verification has no candidates, so nothing of it can be reviewed (review.service refuses): its reviews list is empty.
    if (rec.kind === 'verify') return reviews ? { ...rec, result: { ...rec.result, reviews: [], ...(blind ? { blind: true as const } : {}) } } : rec;
    const result = await withNames(p, rec.result);
    if (!reviews) return { ...rec, result };
    return { ...rec, result: blind ? blindFor(result, reviews, holderOf(p)) : withReviewState(result, reviews) };
  }

  return {
    /**
     * POST /v1/searches, and each item of a screening job. `hooks` (the job runner): `audit` is added to the search's audit
     * event (search.run or search.failed); `within` runs in the search's transaction after its event, `onRefused` in the
     * transaction of a refused attempt's search.failed event, so what they record commits exactly with the search or refusal.
     */
    search: (p: Principal, image: Buffer, params: SearchParams, hooks: SearchHooks = {}) =>
      audited('search', p, image, params, { mode: params.mode, watchlists: params.watchlists ?? null, ...hooks.audit }, async () => {
        await d.purposes.check(p, params.purpose);
        // Named watchlists are resolved before any face analysis: one the caller cannot search is UNKNOWN_WATCHLIST, never "no hit".
        const named = await resolveNamed(p, params);
        const engine = d.engine();
        const analyzed = await engine.analyze(image, { withCrops: !!d.storeProbeCrop, detail: params.detail ?? 'standard' });
        return runSearch(p, engine, analyzed, params, named, hooks.within, hooks.audit ? { audit: hooks.audit } : undefined);
      }, hooks.onRefused),

    /**
     * What a search checks before it looks at a photo (the purpose policy, the named watchlists), without a photo: a screening
     * job is refused at submission for what would refuse every one of its items.
     */
    async precheck(p: Principal, params: SearchParams): Promise<void> {
      await d.purposes.check(p, params.purpose);
      await resolveNamed(p, params);
    },

    /**
     * A search over faces analysed already (a federated search's probe, analysed once for the local search and the chips it
     * sends; or the chips a partner deployment sent). `within` runs in the search's transaction after its audit event and
     * notices, so what it records commits exactly with the search.
     */
    async searchAnalyzed(
      p: Principal,
      analyzed: AnalyzedImage,
      params: SearchParams,
      within?: (tx: Queryable, stored: StoredSearchResult) => Promise<void>,
      extra?: { result?: Record<string, unknown>; audit?: Record<string, unknown> },
    ) {
      const named = await resolveNamed(p, params);
      return runSearch(p, d.engine(), analyzed, params, named, within, extra);
    },

    /** Whether POST /v1/searches/video can run here (a decoder was found at start); throws 501 DECODER_UNAVAILABLE if not. */
    requireVideo: () => void decoder(),

    /**
     * POST /v1/searches/video, and the clip of a video job: refused attempts are audited as `search.failed` like a still's (the
     * clip's SHA-256 only). `hooks` as for `search`.
     */
    searchVideo: (p: Principal, video: Buffer, params: SearchParams, hooks: SearchHooks = {}) =>
      audited('search', p, video, params, { mode: params.mode, watchlists: params.watchlists ?? null, video: true, ...hooks.audit }, () => runVideo(p, video, params, hooks), hooks.onRefused),

    /** A video job's clip at submission: the decoder's probe and limits (501 without a decoder; the route's 4xx otherwise). */
    probeVideo: (video: Buffer) => decoder().probe(video),

    verify: (p: Principal, image: Buffer, subjectId: string, ctx: { purpose: string; caseRef: string }) =>
      audited('verify', p, image, ctx, { mode: 'verify', subjectId }, () => runVerify(p, image, subjectId, ctx)),

    get,

    /**
     * GET /v1/searches/:id: `get`, audited as one `read.search` event before it is answered (ids and counts only): the subjects
     * it shows, and as `owners` the search's organization and those owning its candidates (erased ones are no one's any more).
     */
    async read(p: Principal, id: string): Promise<ShownRecord> {
      const rec = await get(p, id);
      const subjectIds = rec.kind === 'search' ? [...new Set(rec.result.faces.flatMap((f) => f.candidates.map((c) => c.subjectId)))] : [rec.result.subjectId];
      const names = await d.subjects.names(db, subjectIds);
      const owners = [...new Set([rec.organization, ...[...names.values()].map((n) => n.organization)])].sort();
      const candidates = rec.kind === 'search' ? rec.result.faces.reduce((n, f) => n + f.candidates.length, 0) : 0;
      await db.transaction((tx) =>
        audit.append(tx, { type: 'read.search', actor: actorOf(p), searchId: id, subjectIds, payload: { kind: rec.kind, owners, candidates } }, now()),
      );
      return rec;
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
