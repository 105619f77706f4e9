import { createHash, randomUUID } from 'node:crypto';
import type { Db } from '../../shared/db';
import type { KeyRepo } from './key.repo';
import type { Principal, Role } from '../../shared/principal';
import { generateToken, hashToken, tokenLookup, verifyToken } from './key.token';
import { ForbiddenError, LastAdminError, NotFoundError } from '../../shared/errors';
import { actorOf, type AuditLog } from '../audit/audit.model';
import type { ApiKeyRow, PublicKey } from './key.model';

const toPublic = ({ id, roles, organization, holder, label, createdAt, revokedAt, lastUsedAt }: ApiKeyRow): PublicKey => ({
  id,
  roles,
  organization,
  holder,
  label,
  createdAt,
  revokedAt,
  lastUsedAt,
});

/** A key's last use is recorded to this resolution: at most one write per key per minute, whatever the request rate. */
const LAST_USED_RESOLUTION_MS = 60_000;

/** Holder of the admin key registered at first start. */
export const BOOTSTRAP_HOLDER = 'bootstrap admin';

/** What bootstrap did: registered the first admin key, or nothing because keys exist (with or without an active admin). */
export type BootstrapOutcome = { created: true; token: string; generated: boolean } | { created: false; activeAdmin: boolean };

/** The documented way back when keys exist but no admin key is active (printed by serve.ts, in docs/deploy.md). */
export const BOOTSTRAP_RECOVERY =
  "no active admin API key: stop the service (an embedded DATA_DIR is locked while it runs), run `npm run keys -- create --role admin --org '*' --holder \"<name>\"` with the same DATABASE_URL / DATA_DIR, and start again (FACEMATCH_BOOTSTRAP_ADMIN_KEY applies only to a database without any key)";

/** Keys that verified recently, by SHA-256 of the token: scrypt runs once per key per process, not on every request. */
const VERIFIED_CACHE_LIMIT = 10_000;

export function createKeyService(deps: { db: Db; keys: KeyRepo; audit: AuditLog; clock?: () => Date }) {
  const { db, keys, audit } = deps;
  const now = deps.clock ?? (() => new Date());
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
      const at = now();
      if (!row.lastUsedAt || at.getTime() - Date.parse(row.lastUsedAt) >= LAST_USED_RESOLUTION_MS) await keys.touch(db, row.id, at, LAST_USED_RESOLUTION_MS);
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

    /** Revokes a key; never the last active admin key of organization `*` (409 LAST_ADMIN), which would lock everyone out. */
    async revoke(by: Principal, id: string): Promise<PublicKey> {
      return db.transaction(async (tx) => {
        const existing = await keys.findById(tx, id);
        if (!existing || (by.organization !== '*' && existing.organization !== by.organization)) throw new NotFoundError('API key');
        if (!existing.revokedAt && existing.organization === '*' && existing.roles.includes('admin')) {
          await keys.lockAdmins(tx);
          if ((await keys.otherActiveStarAdmins(tx, id)) === 0) throw new LastAdminError();
        }
        const row = (await keys.revoke(tx, id))!;
        await audit.append(tx, { type: 'key.revoked', actor: actorOf(by), payload: { keyId: id, organization: row.organization } });
        return toPublic(row);
      });
    },

    /**
     * First start: when the key table is empty (no key at all, active or revoked), register `bootstrapKey` (from the
     * environment) or a generated one as an admin key for organization `*`, and return the token so serve.ts can print a
     * generated one once. On a database that has keys nothing is created, whatever the environment says (a revoked bootstrap
     * key must not come back, and a restart must not mint a new admin): `activeAdmin` false then means nobody can manage keys
     * and the operator must create one with the keys script (BOOTSTRAP_RECOVERY).
     */
    async bootstrap(bootstrapKey?: string): Promise<BootstrapOutcome> {
      return db.transaction(async (tx) => {
        await keys.lockAdmins(tx);
        if (await keys.anyKeyExists(tx)) return { created: false, activeAdmin: await keys.activeAdminExists(tx) };
        const token = bootstrapKey ?? generateToken();
        const k = await insertKey(tx, token, ['admin'], '*', BOOTSTRAP_HOLDER, bootstrapKey ? 'bootstrap (environment)' : 'bootstrap (generated)');
        await audit.append(tx, {
          type: 'key.bootstrapped',
          actor: { keyId: null, organization: '*', roles: [] },
          payload: { keyId: k.id, roles: k.roles, organization: '*', source: bootstrapKey ? 'environment' : 'generated' },
        });
        return { created: true, token, generated: !bootstrapKey };
      });
    },
  };
}

export type KeyService = ReturnType<typeof createKeyService>;
