import { randomUUID } from 'node:crypto';
import type { Db } from '../../shared/db';
import type { Principal } from '../../shared/principal';
import { AppError, ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../shared/errors';
import { actorOf, type AuditLog } from '../audit/audit.model';
import { ed25519KeyId, parseEd25519PublicKey } from '../../platform/crypto/deployment-key';
import type { FederationRepo } from './federation.repo';
import type { AnalyzedSearch, Partner, PartnerFields } from './federation.model';
import type { FaceEngine } from '../../shared/face.types';
import type { DeploymentKey } from '../../platform/crypto/deployment-key';
import type { KnownKey } from './federation.signing';
import { checkDestination, type DestinationPolicy } from '../../platform/http/outbound';

/** A search names a partner deployment that is not registered (or was removed). */
export class UnknownPartnerError extends AppError {
  constructor(refs: string[]) {
    super('UNKNOWN_PARTNER', 400, `No registered partner deployment is named ${refs.map((r) => `"${r}"`).join(', ')}.`, { partners: refs });
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A partner deployment's base URL as both sides join paths to it: no trailing slash, no query or fragment. */
export function normaliseBaseUrl(raw: string): string {
  const u = new URL(raw);
  if (u.search || u.hash) throw new ValidationError('The base URL may not carry a query or fragment.', [{ path: 'baseUrl', message: 'no query or fragment' }]);
  return u.toString().replace(/\/+$/, '');
}

function keyMaterial(input: string | { kty: string; crv: string; x: string }) {
  try {
    const key = parseEd25519PublicKey(input);
    return { keyId: ed25519KeyId(key), publicKeyPem: key.export({ format: 'pem', type: 'spki' }).toString() };
  } catch {
    throw new ValidationError('The public key is not an Ed25519 public key (SPKI PEM, an OKP JWK, or base64url of the raw 32 bytes).', [{ path: 'publicKey', message: 'not an Ed25519 public key' }]);
  }
}

/**
 * The partner registry, kept by the operator (admin keys of organization `*`): partner deployments, their base URLs (checked
 * against the outbound destination policy when registered and changed) and their Ed25519 keys with validity. Adding a key
 * ends the partner's older keys after `overlapSeconds`. Every change is audited.
 */
export function createPartnerService(d: {
  db: Db;
  repo: FederationRepo;
  audit: AuditLog;
  policy: DestinationPolicy;
  /** This deployment's own key id: registering it as a partner's would let this deployment answer itself. */
  ownKeyId: string;
  overlapSeconds: number;
  clock?: () => Date;
}) {
  const now = d.clock ?? (() => new Date());
  const { db, repo, audit } = d;
  const operator = (p: Principal) => {
    if (p.organization !== '*') throw new ForbiddenError('Partner deployments are registered by the operator (an admin key of organization *).');
  };
  const checkUrl = async (raw: string) => {
    const url = normaliseBaseUrl(raw);
    await checkDestination(url, d.policy);
    return url;
  };
  const mustGet = async (id: string) => {
    const p = UUID.test(id) ? await repo.get(db, id) : null;
    if (!p) throw new NotFoundError('Partner');
    return p;
  };
  const unique = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      if ((e as { code?: string }).code === '23505') throw new ConflictError('A partner of that name, or that key, is registered already.');
      throw e;
    }
  };

  return {
    async register(p: Principal, f: Omit<PartnerFields, 'caCertificate'> & { caCertificate?: string | null; publicKey: string | { kty: string; crv: string; x: string } }) {
      operator(p);
      const k = keyMaterial(f.publicKey);
      if (k.keyId === d.ownKeyId) throw new ConflictError("That is this deployment's own key.");
      const baseUrl = await checkUrl(f.baseUrl);
      const id = randomUUID();
      await unique(() =>
        db.transaction(async (tx) => {
          await repo.insertPartner(tx, { id, name: f.name, jurisdiction: f.jurisdiction, baseUrl, caCertificate: f.caCertificate ?? null });
          await repo.insertKey(tx, id, { ...k, validFrom: now() });
          await audit.append(tx, { type: 'federation.partner_registered', actor: actorOf(p), payload: { partnerId: id, name: f.name, jurisdiction: f.jurisdiction, baseUrl, keyId: k.keyId } });
        }),
      );
      return (await repo.get(db, id))!;
    },

    async list(opts: { includeRemoved?: boolean } = {}) {
      return repo.list(db, opts);
    },

    get: mustGet,

    async update(p: Principal, id: string, patch: Partial<PartnerFields>) {
      operator(p);
      const cur = await mustGet(id);
      if (cur.removedAt) throw new NotFoundError('Partner');
      const next = { ...patch, ...(patch.baseUrl ? { baseUrl: await checkUrl(patch.baseUrl) } : {}) };
      await unique(() =>
        db.transaction(async (tx) => {
          await repo.update(tx, id, next);
          await audit.append(tx, { type: 'federation.partner_updated', actor: actorOf(p), payload: { partnerId: id, fields: Object.keys(patch).sort(), ...(next.baseUrl ? { baseUrl: next.baseUrl } : {}) } });
        }),
      );
      return (await repo.get(db, id))!;
    },

    /** A new key of the partner (it rotated its deployment key): the older keys stay valid `overlapSeconds` longer, then end. */
    async addKey(p: Principal, id: string, f: { publicKey: string | { kty: string; crv: string; x: string }; validFrom?: string }) {
      operator(p);
      const k = keyMaterial(f.publicKey);
      if (k.keyId === d.ownKeyId) throw new ConflictError("That is this deployment's own key.");
      const at = now();
      const until = new Date(at.getTime() + d.overlapSeconds * 1000);
      await unique(() =>
        db.transaction(async (tx) => {
          const cur = await repo.get(tx, id, { forUpdate: true });
          if (!cur || cur.removedAt) throw new NotFoundError('Partner');
          await repo.insertKey(tx, id, { ...k, validFrom: f.validFrom ? new Date(f.validFrom) : at });
          const retiring = await repo.retireKeys(tx, id, k.keyId, until);
          await audit.append(tx, { type: 'federation.partner_key_added', actor: actorOf(p), payload: { partnerId: id, keyId: k.keyId, retiring, retiringAt: until.toISOString() } });
        }),
      );
      return (await repo.get(db, id))!;
    },

    /** The partner can no longer sign anything this deployment accepts; its grants stay on record (and unusable). */
    async remove(p: Principal, id: string) {
      operator(p);
      await mustGet(id);
      await db.transaction(async (tx) => {
        if (!(await repo.remove(tx, id, now()))) throw new NotFoundError('Partner');
        await audit.append(tx, { type: 'federation.partner_removed', actor: actorOf(p), payload: { partnerId: id } });
      });
    },

    /** The registered partner of a signing key, and the key as a verifier needs it (null: unknown, or the partner is removed). */
    async keyFor(keyId: string): Promise<{ partner: Partner; key: KnownKey } | null> {
      const r = await repo.byKey(db, keyId);
      if (!r || r.partner.removedAt) return null;
      return { partner: r.partner, key: knownKey(r.key) };
    },

    /** Partners named by a search (id or name; `all`: every registered one); UNKNOWN_PARTNER for any that is not. */
    async resolve(refs: string[]): Promise<Partner[]> {
      const active = await repo.list(db);
      if (refs.some((r) => r.toLowerCase() === 'all')) return active;
      const unknown = refs.filter((r) => !active.some((a) => a.id === r.toLowerCase() || a.name === r));
      if (unknown.length) throw new UnknownPartnerError(unknown);
      return active.filter((a) => refs.some((r) => a.id === r.toLowerCase() || a.name === r));
    },
  };
}

export const knownKey = (k: { publicKeyPem: string; validFrom: string; validUntil: string | null }): KnownKey => ({
  publicKey: parseEd25519PublicKey(k.publicKeyPem),
  validFrom: new Date(k.validFrom),
  validUntil: k.validUntil ? new Date(k.validUntil) : null,
});

export type PartnerService = ReturnType<typeof createPartnerService>;

/** What both sides of federation work with: storage, the audit chain, the registry, this deployment's key, engine and search. */
export interface FederationCore {
  db: Db;
  repo: FederationRepo;
  audit: AuditLog;
  partners: PartnerService;
  key: DeploymentKey;
  engine: () => FaceEngine;
  searches: AnalyzedSearch;
  clock?: () => Date;
}
