import type { Queryable } from '../../shared/db';
import type { FederatedGrant, GrantTerms, Partner, PartnerFields, PartnerKey } from './federation.model';

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

interface PartnerRow {
  id: string;
  name: string;
  jurisdiction: string;
  base_url: string;
  ca_certificate: string | null;
  created_at: Date;
  updated_at: Date;
  removed_at: Date | null;
}

interface KeyRow {
  key_id: string;
  partner_id: string;
  public_key: string;
  valid_from: Date;
  valid_until: Date | null;
  created_at: Date;
}

const toKey = (r: KeyRow): PartnerKey => ({
  keyId: r.key_id,
  publicKeyPem: r.public_key,
  validFrom: iso(r.valid_from)!,
  validUntil: iso(r.valid_until),
  createdAt: iso(r.created_at)!,
});

const toPartner = (r: PartnerRow, keys: PartnerKey[]): Partner => ({
  id: r.id,
  name: r.name,
  jurisdiction: r.jurisdiction,
  baseUrl: r.base_url,
  caCertificate: r.ca_certificate,
  createdAt: iso(r.created_at)!,
  updatedAt: iso(r.updated_at)!,
  removedAt: iso(r.removed_at),
  keys,
});

interface GrantRow {
  id: string;
  watchlist_id: string;
  watchlist: string;
  organization: string;
  access: 'search' | 'screen';
  expires_at: Date | null;
  created_at: Date;
  accepted_at: Date | null;
  declined_at: Date | null;
  revoked_at: Date | null;
  partner_id: string;
  partner: string;
  disclose_names: boolean;
  disclose_crops: boolean;
  contact: string;
}

const toGrant = (r: GrantRow): FederatedGrant => ({
  id: r.id,
  watchlistId: r.watchlist_id,
  watchlist: r.watchlist,
  organization: r.organization,
  access: r.access,
  expiresAt: iso(r.expires_at),
  createdAt: iso(r.created_at)!,
  // Grants to partners are accepted when made (federation.service grant); a declined one cannot exist (no partner admin here).
  state: r.revoked_at ? 'revoked' : r.declined_at ? 'declined' : r.accepted_at ? 'active' : 'pending',
  acceptedAt: iso(r.accepted_at),
  declinedAt: iso(r.declined_at),
  revokedAt: iso(r.revoked_at),
  partnerId: r.partner_id,
  partner: r.partner,
  discloseNames: r.disclose_names,
  discloseCrops: r.disclose_crops,
  contact: r.contact,
});

const GRANT_SELECT = `SELECT g.id, g.watchlist_id, w.name AS watchlist, w.organization AS owner, g.organization, g.access, g.expires_at,
                             g.created_at, g.accepted_at, g.declined_at, g.revoked_at, t.partner_id, p.name AS partner, t.disclose_names, t.disclose_crops, t.contact
                        FROM federation_grant_terms t
                        JOIN watchlist_grant g ON g.id = t.grant_id
                        JOIN watchlist w ON w.id = g.watchlist_id
                        JOIN federation_partner p ON p.id = t.partner_id`;

export interface StoredRequest {
  id: string;
  searchId: string | null;
  organization: string;
  keyId: string;
  holder: string;
  purpose: string;
  caseRef: string;
  mode: string;
  partners: unknown[];
  createdAt: string;
  completedAt: string | null;
}

interface RequestRow {
  id: string;
  search_id: string | null;
  organization: string;
  key_id: string;
  holder: string;
  purpose: string;
  case_ref: string;
  mode: string;
  partners: unknown[];
  created_at: Date;
  completed_at: Date | null;
}

const toRequest = (r: RequestRow): StoredRequest => ({
  id: r.id,
  searchId: r.search_id,
  organization: r.organization,
  keyId: r.key_id,
  holder: r.holder,
  purpose: r.purpose,
  caseRef: r.case_ref,
  mode: r.mode,
  partners: r.partners,
  createdAt: iso(r.created_at)!,
  completedAt: iso(r.completed_at),
});

/** Partners, their keys, seen nonces, grant terms and sent federated searches. */
export function createFederationRepo() {
  async function keysOf(db: Queryable, ids: string[]): Promise<Map<string, PartnerKey[]>> {
    const r = await db.query<KeyRow>('SELECT * FROM federation_partner_key WHERE partner_id = ANY($1::uuid[]) ORDER BY valid_from, key_id', [ids]);
    const out = new Map<string, PartnerKey[]>();
    for (const k of r.rows) (out.get(k.partner_id) ?? out.set(k.partner_id, []).get(k.partner_id)!).push(toKey(k));
    return out;
  }

  async function withKeys(db: Queryable, rows: PartnerRow[]): Promise<Partner[]> {
    const keys = await keysOf(db, rows.map((r) => r.id));
    return rows.map((r) => toPartner(r, keys.get(r.id) ?? []));
  }

  return {
    async insertPartner(db: Queryable, p: PartnerFields & { id: string }): Promise<void> {
      await db.query('INSERT INTO federation_partner (id, name, jurisdiction, base_url, ca_certificate) VALUES ($1, $2, $3, $4, $5)', [
        p.id,
        p.name,
        p.jurisdiction,
        p.baseUrl,
        p.caCertificate,
      ]);
    },

    async insertKey(db: Queryable, partnerId: string, k: { keyId: string; publicKeyPem: string; validFrom: Date }): Promise<void> {
      await db.query('INSERT INTO federation_partner_key (key_id, partner_id, public_key, valid_from) VALUES ($1, $2, $3, $4)', [
        k.keyId,
        partnerId,
        k.publicKeyPem,
        k.validFrom,
      ]);
    },

    /** Ends every other key of the partner at `until` (unless it ends sooner already); returns the keys it ended. */
    async retireKeys(db: Queryable, partnerId: string, exceptKeyId: string, until: Date): Promise<string[]> {
      const r = await db.query<{ key_id: string }>(
        `UPDATE federation_partner_key SET valid_until = $3
          WHERE partner_id = $1 AND key_id <> $2 AND (valid_until IS NULL OR valid_until > $3) RETURNING key_id`,
        [partnerId, exceptKeyId, until],
      );
      return r.rows.map((x) => x.key_id).sort();
    },

    async get(db: Queryable, id: string, opts: { forUpdate?: boolean } = {}): Promise<Partner | null> {
      const r = await db.query<PartnerRow>(`SELECT * FROM federation_partner WHERE id = $1${opts.forUpdate ? ' FOR UPDATE' : ''}`, [id]);
      return r.rows[0] ? (await withKeys(db, r.rows))[0]! : null;
    },

    async list(db: Queryable, opts: { includeRemoved?: boolean } = {}): Promise<Partner[]> {
      const r = await db.query<PartnerRow>('SELECT * FROM federation_partner WHERE ($1::boolean OR removed_at IS NULL) ORDER BY name, id', [
        opts.includeRemoved ?? false,
      ]);
      return withKeys(db, r.rows);
    },

    async update(db: Queryable, id: string, patch: Partial<PartnerFields>): Promise<void> {
      await db.query(
        `UPDATE federation_partner SET
           name = COALESCE($2, name),
           jurisdiction = COALESCE($3, jurisdiction),
           base_url = COALESCE($4, base_url),
           ca_certificate = CASE WHEN $5::boolean THEN $6 ELSE ca_certificate END,
           updated_at = now()
         WHERE id = $1`,
        [id, patch.name ?? null, patch.jurisdiction ?? null, patch.baseUrl ?? null, 'caCertificate' in patch, patch.caCertificate ?? null],
      );
    },

    async remove(db: Queryable, id: string, at: Date): Promise<boolean> {
      return (await db.query('UPDATE federation_partner SET removed_at = $2, updated_at = $2 WHERE id = $1 AND removed_at IS NULL', [id, at])).rowCount > 0;
    },

    /** The partner holding the key `keyId`, with that key (null: no such key). */
    async byKey(db: Queryable, keyId: string): Promise<{ partner: Partner; key: PartnerKey } | null> {
      const k = await db.query<KeyRow>('SELECT * FROM federation_partner_key WHERE key_id = $1', [keyId]);
      if (!k.rows[0]) return null;
      const p = await this.get(db, k.rows[0].partner_id);
      return p ? { partner: p, key: toKey(k.rows[0]) } : null;
    },

    /**
     * Records a nonce of key `keyId` as seen at `at`; false when it was seen before (a replay). One INSERT that every instance
     * on the database runs against the same primary key, so two instances cannot both accept one nonce. Nonces seen before
     * `forgetBefore` are deleted on the way (their signatures are past the clock-skew bound anyway).
     */
    async claimNonce(db: Queryable, keyId: string, nonce: string, at: Date, forgetBefore: Date): Promise<boolean> {
      await db.query('DELETE FROM federation_nonce WHERE seen_at < $1', [forgetBefore]);
      const r = await db.query('INSERT INTO federation_nonce (key_id, nonce, seen_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [keyId, nonce, at]);
      return r.rowCount === 1;
    },

    async insertTerms(db: Queryable, grantId: string, partnerId: string, t: GrantTerms): Promise<void> {
      await db.query('INSERT INTO federation_grant_terms (grant_id, partner_id, disclose_names, disclose_crops, contact) VALUES ($1, $2, $3, $4, $5)', [
        grantId,
        partnerId,
        t.discloseNames,
        t.discloseCrops,
        t.contact,
      ]);
    },

    /** Grants to partners of the watchlists `owner` owns (null: every owner), newest first; revoked ones too when asked. */
    async listGrants(db: Queryable, f: { owner: string | null; partnerId?: string; includeRevoked?: boolean }): Promise<FederatedGrant[]> {
      const r = await db.query<GrantRow>(
        `${GRANT_SELECT}
          WHERE ($1::text IS NULL OR w.organization = $1) AND ($2::uuid IS NULL OR t.partner_id = $2)
            AND ($3::boolean OR g.revoked_at IS NULL)
          ORDER BY g.created_at DESC, g.id`,
        [f.owner, f.partnerId ?? null, f.includeRevoked ?? false],
      );
      return r.rows.map(toGrant);
    },

    async getGrant(db: Queryable, grantId: string): Promise<(FederatedGrant & { owner: string }) | null> {
      const r = await db.query<GrantRow & { owner: string }>(`${GRANT_SELECT} WHERE g.id = $1`, [grantId]);
      return r.rows[0] ? { ...toGrant(r.rows[0]), owner: r.rows[0].owner } : null;
    },

    /**
     * The live grants to `partnerId` at `at` usable in `mode` (screen grants count for screening only), with their terms: the
     * same rule as the watchlist access rule, read in the caller's transaction.
     */
    async liveGrants(db: Queryable, partnerId: string, mode: string, at: Date): Promise<FederatedGrant[]> {
      const r = await db.query<GrantRow>(
        `${GRANT_SELECT}
          WHERE t.partner_id = $1 AND g.organization = 'partner:' || $1::text AND g.revoked_at IS NULL
            AND g.accepted_at IS NOT NULL AND g.declined_at IS NULL
            AND (g.expires_at IS NULL OR g.expires_at > $3) AND (g.access = 'search' OR $2 = 'screening')
          ORDER BY w.name, g.id`,
        [partnerId, mode, at],
      );
      return r.rows.map(toGrant);
    },

    async insertRequest(db: Queryable, q: Omit<StoredRequest, 'completedAt' | 'searchId'>): Promise<void> {
      await db.query(
        `INSERT INTO federation_request (id, organization, key_id, holder, purpose, case_ref, mode, partners, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9)`,
        [q.id, q.organization, q.keyId, q.holder, q.purpose, q.caseRef, q.mode, JSON.stringify(q.partners), q.createdAt],
      );
    },

    async completeRequest(db: Queryable, id: string, searchId: string, partners: unknown[], at: Date): Promise<void> {
      await db.query('UPDATE federation_request SET search_id = $2, partners = $3::jsonb, completed_at = $4 WHERE id = $1', [id, searchId, JSON.stringify(partners), at]);
    },

    async getRequest(db: Queryable, id: string): Promise<StoredRequest | null> {
      const r = await db.query<RequestRow>('SELECT * FROM federation_request WHERE id = $1', [id]);
      return r.rows[0] ? toRequest(r.rows[0]) : null;
    },
  };
}

export type FederationRepo = ReturnType<typeof createFederationRepo>;
