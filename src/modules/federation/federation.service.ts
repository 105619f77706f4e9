import { randomUUID } from 'node:crypto';
import { canSeeOrganization, holderOf, type Principal } from '../../shared/principal';
import { NoFaceError, NotFoundError } from '../../shared/errors';
import { actorOf } from '../audit/audit.model';
import type { SearchParams } from '../search/search.model';
import type { WatchlistAccess } from '../watchlist/watchlist.model';
import {
  catalogAnswer,
  errorAnswer,
  partnerOrganization,
  searchAnswer,
  type GrantTerms,
  type GrantWriter,
  type Partner,
  type PartnerResult,
} from './federation.model';
import { knownKey, type FederationCore } from './partner.service';
import { signRequest, verifySigned } from './federation.signing';
import { CATALOG_PATH, SEARCH_PATH } from './answering.service';
import { DestinationRefusedError, OutboundError, outboundRequest, type DestinationPolicy } from '../../platform/http/outbound';

/**
 * The requesting side of federation and the owner's grants to partners.
 *
 * A federated search (POST /v1/searches with `partners`): the probe is analysed once; the local search runs and is stored and
 * audited as any search; then `federation.requested` is audited (partners, purpose and caseRef as HMACs, key holder) before any chip
 * leaves; each partner gets the aligned face chips (never the photo), signed, within the per-partner deadline; every answer's
 * signature is verified against that partner's registered keys; `federation.completed` records each partner's status. A
 * partner that is slow, down, or answers garbage or too much gets that status, never an error of the whole search.
 */
export function createFederationService(
  d: FederationCore & {
    grants: GrantWriter;
    access: WatchlistAccess;
    policy: DestinationPolicy;
    timeoutMs: number;
    maxAnswerBytes: number;
    maxSkewSeconds: number;
  },
) {
  const now = d.clock ?? (() => new Date());
  const { db, repo, audit } = d;

  type Exchange = { status: number; body: Buffer; truncated: boolean; headers: Record<string, string | string[] | undefined> };

  /** One signed request to a partner and the verified answer, or the partner's status when there is none to trust. */
  async function exchange(partner: Partner, method: 'GET' | 'POST', path: string, body: Buffer): Promise<{ ok: Exchange } | { failed: Omit<PartnerResult, 'partnerId' | 'name' | 'jurisdiction' | 'elapsedMs'> }> {
    const targetUri = `${partner.baseUrl}${path}`;
    const headers = signRequest(d.key, { method, targetUri, body, now: now() });
    let res;
    try {
      res = await outboundRequest(targetUri, {
        method,
        headers,
        body: method === 'POST' ? body : undefined,
        policy: d.policy,
        connectTimeoutMs: Math.min(d.timeoutMs, 5000),
        totalTimeoutMs: d.timeoutMs,
        maxResponseBytes: d.maxAnswerBytes,
        tls: partner.caCertificate ? { ca: partner.caCertificate } : undefined,
      });
    } catch (e) {
      if (e instanceof OutboundError) {
        if (e.kind === 'timeout') return { failed: { status: 'timeout', reason: 'DEADLINE' } };
        return { failed: { status: 'unreachable', reason: e.kind === 'tls' ? 'TLS_FAILED' : 'CONNECT_FAILED' } };
      }
      if (e instanceof DestinationRefusedError) return { failed: { status: 'unreachable', reason: 'DESTINATION_REFUSED' } };
      throw e;
    }
    if (res.truncated) return { failed: { status: 'refused', reason: 'ANSWER_TOO_LARGE' } };
    try {
      await verifySigned({ status: res.status, headers: res.headers }, res.body, {
        answer: true,
        request: { method, targetUri, headers },
        now: now(),
        maxSkewSeconds: d.maxSkewSeconds,
        keyFor: async (keyId) => {
          const k = partner.keys.find((x) => x.keyId === keyId);
          return k ? knownKey(k) : null;
        },
      });
    } catch {
      return { failed: res.status >= 500 ? { status: 'unreachable', reason: 'PARTNER_ERROR' } : { status: 'refused', reason: 'ANSWER_SIGNATURE_INVALID' } };
    }
    if (res.status === 200) return { ok: { ...res, headers: res.headers } };
    let code: string | undefined;
    try {
      code = errorAnswer.parse(JSON.parse(res.body.toString('utf8'))).error.code;
    } catch {
      code = undefined;
    }
    if (res.status >= 400 && res.status < 500) return { failed: { status: 'refused', reason: code ?? 'ANSWER_MALFORMED' } };
    return { failed: { status: 'unreachable', reason: code ?? 'PARTNER_ERROR' } };
  }

  const parseJson = (b: Buffer): unknown => {
    try {
      return JSON.parse(b.toString('utf8'));
    } catch {
      return undefined;
    }
  };

  async function ask(partner: Partner, body: Buffer, requestId: string): Promise<PartnerResult> {
    const t0 = performance.now();
    const who = { partnerId: partner.id, name: partner.name, jurisdiction: partner.jurisdiction };
    const r = await exchange(partner, 'POST', SEARCH_PATH, body);
    const elapsedMs = Math.round(performance.now() - t0);
    if ('failed' in r) return { ...who, ...r.failed, elapsedMs };
    const answer = searchAnswer.safeParse(parseJson(r.ok.body));
    if (!answer.success || answer.data.requestId !== requestId) return { ...who, status: 'refused', reason: 'ANSWER_MALFORMED', elapsedMs };
    return { ...who, status: 'ok', elapsedMs, answer: answer.data };
  }

  /** What the audit chain keeps of a partner's answer: its status and what it found, no names, crops or scores. */
  const summary = (r: PartnerResult) => ({
    partnerId: r.partnerId,
    status: r.status,
    ...(r.reason ? { reason: r.reason } : {}),
    elapsedMs: r.elapsedMs,
    ...(r.answer ? { faces: r.answer.faces.map((f) => ({ faceIndex: f.faceIndex, hit: f.hit, candidates: f.candidates.length, references: f.candidates.map((c) => c.reference) })) } : {}),
  });

  return {
    /** FederatedSearch (search.model): the local search, then the partners', each within the deadline. */
    async search(p: Principal, image: Buffer, params: SearchParams, refs: string[]) {
      const partners = await d.partners.resolve(refs);
      const engine = d.engine();
      const analyzed = await engine.analyze(image, { withCrops: true });
      if (analyzed.faces.length === 0) throw new NoFaceError('No face was found in the probe image.');
      const local = await d.searches.searchAnalyzed(p, analyzed, params);
      const requestId = randomUUID();
      const createdAt = now().toISOString();
      const holder = holderOf(p);
      const faces = analyzed.faces.flatMap((f, faceIndex) => (f.cropJpeg ? [{ faceIndex, chip: f.cropJpeg.toString('base64') }] : []));
      const pending = partners.map((x) => ({ partnerId: x.id, name: x.name, jurisdiction: x.jurisdiction }));
      // Recorded before any chip leaves this deployment: no disclosure without its audit event.
      await db.transaction(async (tx) => {
        await repo.insertRequest(tx, { id: requestId, organization: p.organization, keyId: p.keyId, holder, purpose: params.purpose, caseRef: params.caseRef, mode: params.mode, partners: pending, createdAt });
        await audit.append(tx, {
          type: 'federation.requested',
          actor: actorOf(p),
          searchId: local.searchId,
          payload: { requestId, searchId: local.searchId, partners: pending, mode: params.mode, holder, probeSha256: analyzed.sha256, chips: faces.length },
          text: { purpose: params.purpose, caseRef: params.caseRef },
        });
      });
      const body = Buffer.from(
        JSON.stringify({
          requestId,
          mode: params.mode,
          purpose: params.purpose,
          caseRef: params.caseRef,
          requester: { organization: p.organization, holder },
          topK: params.topK,
          ...(params.minSimilarity !== undefined ? { minSimilarity: params.minSimilarity } : {}),
          faces,
        }),
      );
      const results = faces.length ? await Promise.all(partners.map((x) => ask(x, body, requestId))) : [];
      await db.transaction(async (tx) => {
        await repo.completeRequest(tx, requestId, local.searchId, results, now());
        await audit.append(tx, { type: 'federation.completed', actor: actorOf(p), searchId: local.searchId, payload: { requestId, searchId: local.searchId, partners: results.map(summary) } });
      });
      return { ...local, federation: { requestId, deadlineMs: d.timeoutMs, partners: results } };
    },

    /** What a partner has granted this deployment (its signed catalog), or its status when it cannot say. */
    async catalog(id: string) {
      const partner = await d.partners.get(id);
      if (partner.removedAt) throw new NotFoundError('Partner');
      const r = await exchange(partner, 'GET', CATALOG_PATH, Buffer.alloc(0));
      if ('failed' in r) return { partnerId: partner.id, ...r.failed, grants: [] };
      const c = catalogAnswer.safeParse(parseJson(r.ok.body));
      return c.success ? { partnerId: partner.id, status: 'ok' as const, grants: c.data.grants } : { partnerId: partner.id, status: 'refused' as const, reason: 'ANSWER_MALFORMED', grants: [] };
    },

    /** A federated search this deployment sent, for those who may read its local search. */
    async request(p: Principal, id: string) {
      const r = await repo.getRequest(db, id);
      if (!r || !canSeeOrganization(p, r.organization)) throw new NotFoundError('Federation request');
      return r;
    },

    /**
     * The owner grants a watchlist to a partner deployment: a watchlist grant to `partner:<id>` with its terms, one transaction.
     * Active at once: a partner has no admin on this deployment to accept it; its registration by this deployment's operator and
     * its signed requests are the agreement (docs/federation.md), and its answers carry no searcher's purpose back to the owner.
     */
    async grant(p: Principal, g: { watchlist: string; partner: string; access: 'search' | 'screen'; expiresAt?: string | null } & GrantTerms) {
      const [partner] = await d.partners.resolve([g.partner]).catch(() => {
        throw new NotFoundError('Partner');
      });
      if (!partner || g.partner.toLowerCase() === 'all') throw new NotFoundError('Partner');
      const w = await d.access.ownedByRef(db, p, g.watchlist);
      const terms = { discloseNames: g.discloseNames, discloseCrops: g.discloseCrops, contact: g.contact };
      const grant = await d.grants.grant(p, w.id, { organization: partnerOrganization(partner.id), access: g.access, expiresAt: g.expiresAt ?? null }, async (tx, made) => {
        await repo.insertTerms(tx, made.id, partner.id, terms);
        return { partnerId: partner.id, partner: partner.name, ...terms };
      }, { acceptedOnCreate: true });
      return (await repo.getGrant(db, grant.id))!;
    },

    async grants(p: Principal, f: { includeRevoked?: boolean } = {}) {
      return repo.listGrants(db, { owner: p.organization === '*' ? null : p.organization, includeRevoked: f.includeRevoked });
    },

    /** Revocation takes effect on the partner's next request (the access rule reads revoked_at on every search). */
    async revoke(p: Principal, grantId: string) {
      const g = await repo.getGrant(db, grantId);
      if (!g || g.owner !== p.organization) throw new NotFoundError('Grant');
      await d.grants.revoke(p, g.watchlistId, grantId);
      return (await repo.getGrant(db, grantId))!;
    },
  };
}

export type FederationService = ReturnType<typeof createFederationService>;
