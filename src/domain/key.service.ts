import { createHash, randomUUID } from 'node:crypto';
import type { Db } from '../infra/db/db';
import type { AuditRepo } from '../infra/db/audit.repo';
import type { KeyRepo, ApiKeyRow } from '../infra/db/key.repo';
import { generateToken, hashToken, tokenLookup, verifyToken, type Principal, type Role } from './api-key';
import { ForbiddenError, NotFoundError } from './errors';
import { actorOf } from './actor';

export interface PublicKey {
  id: string;
  roles: Role[];
  organization: string;
  holder: string;
  label: string | null;
  createdAt: string;
  revokedAt: string | null;
}

const toPublic = ({ id, roles, organization, holder, label, createdAt, revokedAt }: ApiKeyRow): PublicKey => ({
  id,
  roles,
  organization,
  holder,
  label,
  createdAt,
  revokedAt,
});

/** Holder of the admin key registered at first start. */
export const BOOTSTRAP_HOLDER = 'bootstrap admin';

/** Keys that verified recently, by SHA-256 of the token: scrypt runs once per key per process, not on every request. */
const VERIFIED_CACHE_LIMIT = 10_000;

export function createKeyService(deps: { db: Db; keys: KeyRepo; audit: AuditRepo }) {
  const { db, keys, audit } = deps;
  const verified = new Map<string, string>(); // sha256(token) → key id

  async function insertKey(
    tx: Parameters<Parameters<Db['transaction']>[0]>[0],
    token: string,
    roles: Role[],
    organization: string,
    holder: string,
    label: string | null,
  ): Promise<ApiKeyRow> {
    return keys.insert(tx, { id: randomUUID(), lookup: tokenLookup(token), secretHash: await hashToken(token), roles, organization, holder, label });
  }

  return {
    /** Resolves a bearer token to its principal; null for unknown, wrong or revoked keys. Revocation is seen at once (the row is read every time). */
    async authenticate(token: string): Promise<Principal | null> {
      const row = await keys.findByLookup(db, tokenLookup(token));
      if (!row || row.revokedAt) return null;
      const digest = createHash('sha256').update(token).digest('hex');
      if (verified.get(digest) !== row.id) {
        if (!(await verifyToken(token, row.secretHash))) return null;
        if (verified.size >= VERIFIED_CACHE_LIMIT) verified.clear();
        verified.set(digest, row.id);
      }
      return { keyId: row.id, roles: row.roles, organization: row.organization, holder: row.holder };
    },

    /**
     * `holder` is required by the HTTP contract and the CLI; in-process callers that omit it get a holder unique to the key
     * (so such keys never merge with anyone in four-eyes counting).
     */
    async create(by: Principal, input: { roles: Role[]; organization: string; holder?: string; label?: string | null }) {
      if (by.organization !== '*' && input.organization !== by.organization) {
        throw new ForbiddenError('An admin key may create keys only for its own organization.');
      }
      const token = generateToken();
      const row = await db.transaction(async (tx) => {
        const holder = input.holder ?? `unnamed key ${tokenLookup(token)}`;
        const k = await insertKey(tx, token, [...new Set(input.roles)], input.organization, holder, input.label ?? null);
        await audit.append(tx, {
          type: 'key.created',
          actor: actorOf(by),
          payload: { keyId: k.id, roles: k.roles, organization: k.organization, holder: k.holder, label: k.label },
        });
        return k;
      });
      return { ...toPublic(row), key: token };
    },

    /** The caller's own key (what the console shows after sign-in). */
    async me(by: Principal): Promise<PublicKey> {
      const row = await keys.findById(db, by.keyId);
      if (!row) throw new NotFoundError('API key');
      return toPublic(row);
    },

    async list(by: Principal): Promise<PublicKey[]> {
      return (await keys.list(db, by.organization === '*' ? null : by.organization)).map(toPublic);
    },

    async revoke(by: Principal, id: string): Promise<PublicKey> {
      return db.transaction(async (tx) => {
        const existing = await keys.findById(tx, id);
        if (!existing || (by.organization !== '*' && existing.organization !== by.organization)) throw new NotFoundError('API key');
        const row = (await keys.revoke(tx, id))!;
        await audit.append(tx, { type: 'key.revoked', actor: actorOf(by), payload: { keyId: id, organization: row.organization } });
        return toPublic(row);
      });
    },

    /**
     * First start: when no active admin key exists, register `bootstrapKey` (from the environment) or a generated one as an
     * admin key for organization `*`. Returns the generated token so main.ts can print it once; null when nothing was created.
     */
    async bootstrap(bootstrapKey?: string): Promise<{ token: string; generated: boolean } | null> {
      return db.transaction(async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock($1)', [7_406_331_903]);
        if (await keys.activeAdminExists(tx)) return null;
        const token = bootstrapKey ?? generateToken();
        const k = await insertKey(tx, token, ['admin'], '*', BOOTSTRAP_HOLDER, bootstrapKey ? 'bootstrap (environment)' : 'bootstrap (generated)');
        await audit.append(tx, {
          type: 'key.bootstrapped',
          actor: { keyId: null, organization: '*', roles: [] },
          payload: { keyId: k.id, roles: k.roles, organization: '*', source: bootstrapKey ? 'environment' : 'generated' },
        });
        return { token, generated: !bootstrapKey };
      });
    },
  };
}

export type KeyService = ReturnType<typeof createKeyService>;
