import type { Logger } from 'pino';
import type { Queryable } from '../../shared/db';
import type { Principal } from '../../shared/principal';
import { AppError, NotReadyError, RateLimitedError, ValidationError } from '../../shared/errors';
import { actorOf, type AuditLog } from '../audit/audit.model';
import type { ShownSearchResult, StoredSearchResult } from '../search/search.model';
import type { RequestParts } from '../../platform/http/message-signatures';
import type { RateLimiter } from '../../platform/http/rate-limit';
import { incomingSearch, partnerOrganization, type FederatedGrant, type IncomingSearch, type Partner, type SearchAnswer } from './federation.model';
import type { FederationCore } from './partner.service';
import { signAnswer, SignatureRefusedError, verifySigned } from './federation.signing';

/** A request as the federation routes received it: the raw body (its digest is what was signed). */
export interface ReceivedRequest {
  method: string;
  /** The path as received (`/federation/v1/search`). */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  remoteAddress: string;
  requestId: string;
}

export interface SignedAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** The routes partners call, below FEDERATION_PUBLIC_URL. */
export const SEARCH_PATH = '/federation/v1/search';
export const CATALOG_PATH = '/federation/v1/grants';

/**
 * The answering side of federation: verifies a partner's signed request (docs/federation.md, "The channel"), runs what it asks
 * under the partner's grants, and signs every answer, refusals included. A refusal of the signature is audited
 * (`federation.refused`) up to a rate per address; a search is audited twice in its own transaction: `search.run` (as any
 * search, by the partner's organization `partner:<id>`, with the federation context) and `federation.answered` (what was
 * disclosed to whom), both carrying the federation request id the requester records too.
 */
export function createAnsweringService(
  d: FederationCore & {
    /** The enrolled crop of a candidate's face (JPEG), or null once erased. */
    enrolledCrop: (subjectId: string, faceId: string) => Promise<Buffer | null>;
    publicUrl: string;
    maxSkewSeconds: number;
    /** Refusals audited per client address; beyond, 429 and no audit event (so a flood cannot fill the chain). */
    refusalLimiter: RateLimiter;
    logger: Logger;
  },
) {
  const now = d.clock ?? (() => new Date());
  const { db, repo, audit } = d;

  const json = (v: unknown) => Buffer.from(JSON.stringify(v));
  const errorBody = (e: AppError, requestId: string) =>
    json({ error: { code: e.code, message: e.message, ...(e.details !== undefined ? { details: e.details } : {}) }, requestId });

  /** The answer, signed over the request it answers; an unsigned request gets an unsigned answer (nothing to bind it to). */
  function sign(status: number, body: Buffer, request: RequestParts): SignedAnswer {
    const base = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };
    try {
      return { status, body, headers: { ...base, ...signAnswer(d.key, { status, body, now: now() }, request) } };
    } catch {
      return { status, body, headers: base };
    }
  }

  async function refused(r: ReceivedRequest, e: SignatureRefusedError, request: RequestParts): Promise<SignedAnswer> {
    const allowed = (await d.refusalLimiter.take(`federation-refusal:${r.remoteAddress}`)).allowed;
    if (!allowed) return sign(429, errorBody(new RateLimitedError(60, {}, 'Too many refused federation requests from this address; retry later.'), r.requestId), request);
    const partner = e.keyId ? (await repo.byKey(db, e.keyId))?.partner : undefined;
    let claimed: string | null = null;
    try {
      const id = (JSON.parse(r.body.toString('utf8')) as { requestId?: unknown }).requestId;
      if (typeof id === 'string' && /^[0-9a-f-]{36}$/i.test(id)) claimed = id;
    } catch {
      /* an unreadable body claims no request id */
    }
    await db.transaction((tx) =>
      audit.append(tx, {
        type: 'federation.refused',
        actor: { keyId: partner?.id ?? null, organization: partner ? partnerOrganization(partner.id) : 'federation:unknown', roles: [] },
        payload: { code: e.refusal, keyId: e.keyId ?? null, partnerId: partner?.id ?? null, path: r.path, remoteAddress: r.remoteAddress, claimedRequestId: claimed },
      }),
    );
    return sign(401, errorBody(e, r.requestId), request);
  }

  function disclosed(g: FederatedGrant | undefined) {
    return { names: g?.discloseNames ?? false, crops: g?.discloseCrops ?? false };
  }

  /** What the partner is told: references, contacts, and only what each candidate's grant discloses. */
  async function answerOf(q: IncomingSearch, shown: ShownSearchResult, terms: Map<string, FederatedGrant>, at: string): Promise<SearchAnswer> {
    const screening = q.mode === 'screening';
    const threshold = shown.thresholds?.screeningSimilarity ?? 1;
    const faces: SearchAnswer['faces'] = [];
    for (const f of shown.faces) {
      const candidates: SearchAnswer['faces'][number]['candidates'] = [];
      for (const c of f.candidates) {
        const g = terms.get(c.watchlistId);
        const show = disclosed(g);
        const crop = show.crops && c.faceId ? await d.enrolledCrop(c.subjectId, c.faceId) : null;
        candidates.push({
          rank: c.rank,
          reference: `${shown.searchId}:${f.faceIndex}:${c.rank}`,
          contact: g?.contact ?? '',
          ...(screening ? {} : { similarity: c.similarity, estimatedFalseMatchRate: c.estimatedFalseMatchRate }),
          ...(show.names ? { displayName: c.displayName, watchlist: c.watchlist ?? undefined, category: c.category } : {}),
          ...(crop ? { faceCrop: crop.toString('base64') } : {}),
        });
      }
      faces.push({
        faceIndex: q.faces[f.faceIndex]!.faceIndex,
        hit: f.candidates.some((c) => screening || (c.similarity ?? 0) >= threshold),
        quality: { score: f.quality.score, issues: f.quality.issues },
        candidates,
      });
    }
    const model = shown.model as { id: string; version?: string } | undefined;
    return {
      requestId: q.requestId,
      answeredAt: at,
      mode: q.mode,
      model: { id: model?.id ?? 'unknown', version: model?.version ?? '' },
      thresholds: { screeningSimilarity: threshold, screeningTargetFmr: shown.thresholds?.screeningTargetFmr ?? 0 },
      faces,
    };
  }

  async function search(partner: Partner, body: Buffer): Promise<unknown> {
    let raw: unknown;
    try {
      raw = JSON.parse(body.toString('utf8'));
    } catch {
      throw new ValidationError('The request body is not valid JSON.');
    }
    const parsed = incomingSearch.safeParse(raw);
    if (!parsed.success) throw new ValidationError('The federation request is not valid.', parsed.error.issues.slice(0, 20).map((i) => ({ path: i.path.join('.'), message: i.message })));
    const q = parsed.data;
    const engine = d.engine();
    if (!engine.analyzeChips) throw new NotReadyError('This deployment\'s face engine cannot embed face chips.');
    const analyzed = await engine.analyzeChips(q.faces.map((f) => Buffer.from(f.chip, 'base64')));
    const principal: Principal = {
      keyId: partner.id,
      roles: ['searcher'],
      organization: partnerOrganization(partner.id),
      holder: `${q.requester.holder} (${partner.name})`,
    };
    const federation = { requestId: q.requestId, partnerId: partner.id, partner: partner.name, jurisdiction: partner.jurisdiction, organization: q.requester.organization, holder: q.requester.holder };
    let terms = new Map<string, FederatedGrant>();
    const at = now();
    const within = async (tx: Queryable, stored: StoredSearchResult) => {
      terms = new Map((await repo.liveGrants(tx, partner.id, q.mode, at)).map((g) => [g.watchlistId, g]));
      const faces = stored.faces.map((f) => ({
        faceIndex: q.faces[f.faceIndex]!.faceIndex,
        candidates: f.candidates.map((c) => ({ reference: `${stored.searchId}:${f.faceIndex}:${c.rank}`, subjectId: c.subjectId, watchlistId: c.watchlistId, similarity: c.similarity, disclosed: disclosed(terms.get(c.watchlistId)) })),
      }));
      await audit.append(tx, {
        type: 'federation.answered',
        actor: actorOf(principal),
        searchId: stored.searchId,
        subjectIds: [...new Set(stored.faces.flatMap((f) => f.candidates.map((c) => c.subjectId)))],
        payload: { requestId: q.requestId, partner: { id: partner.id, name: partner.name, jurisdiction: partner.jurisdiction }, requester: q.requester, mode: q.mode, faces, scores: q.mode === 'investigative' },
        text: { purpose: q.purpose, caseRef: q.caseRef },
      });
    };
    const shown = await d.searches.searchAnalyzed(
      principal,
      analyzed,
      { purpose: q.purpose, caseRef: q.caseRef, mode: q.mode, topK: q.topK, minSimilarity: q.minSimilarity, watchlists: q.watchlists, federation },
      within,
    );
    return answerOf(q, shown, terms, at.toISOString());
  }

  async function catalog(partner: Partner): Promise<unknown> {
    const grants = await repo.liveGrants(db, partner.id, 'screening', now());
    return {
      grants: grants.map((g) => ({ watchlistId: g.watchlistId, access: g.access, expiresAt: g.expiresAt, contact: g.contact, ...(g.discloseNames ? { watchlist: g.watchlist } : {}) })),
    };
  }

  return {
    /** Verifies, runs and answers one request to a federation route; never throws (every outcome is a signed answer). */
    async receive(r: ReceivedRequest): Promise<SignedAnswer> {
      const request: RequestParts = { method: r.method, targetUri: `${d.publicUrl}${r.path}`, headers: r.headers };
      try {
        let partner: Partner | undefined;
        const v = await verifySigned(request, r.body, {
          answer: false,
          now: now(),
          maxSkewSeconds: d.maxSkewSeconds,
          keyFor: async (keyId) => {
            const k = await d.partners.keyFor(keyId);
            partner = k?.partner;
            return k?.key ?? null;
          },
        });
        const at = now();
        if (!(await repo.claimNonce(db, v.keyId, v.nonce!, at, new Date(at.getTime() - 2 * d.maxSkewSeconds * 1000)))) {
          throw new SignatureRefusedError('FEDERATION_REPLAYED', 'This request was received before (its nonce was seen): a replay is refused.', v.keyId);
        }
        const out = r.path === SEARCH_PATH && r.method === 'POST' ? await search(partner!, r.body) : r.path === CATALOG_PATH && r.method === 'GET' ? await catalog(partner!) : null;
        if (out === null) return sign(404, errorBody(new AppError('NOT_FOUND', 404, `Route ${r.method} ${r.path} not found.`), r.requestId), request);
        return sign(200, json(out), request);
      } catch (e) {
        if (e instanceof SignatureRefusedError) return refused(r, e, request);
        if (e instanceof AppError) return sign(e.status, errorBody(e, r.requestId), request);
        d.logger.error({ requestId: r.requestId, err: { name: (e as Error)?.name, message: (e as Error)?.message, stack: (e as Error)?.stack } }, 'federation request failed');
        return sign(500, errorBody(new AppError('INTERNAL', 500, 'An internal error occurred; quote the request id when reporting it.'), r.requestId), request);
      }
    },

    /** An error the HTTP layer raised before `receive` (an oversized or unreadable body), answered signed when it can be. */
    answerError(r: Omit<ReceivedRequest, 'body'>, e: AppError): SignedAnswer {
      return sign(e.status, errorBody(e, r.requestId), { method: r.method, targetUri: `${d.publicUrl}${r.path}`, headers: r.headers });
    },
  };
}

export type AnsweringService = ReturnType<typeof createAnsweringService>;
