import type { Queryable } from '../../shared/db';
import type { Role } from '../../shared/principal';

/** API keys: who holds them, for which organization and roles (API.md "Roles"). Stored hashed; the secret is shown once. */
export interface ApiKeyRow {
  id: string;
  lookup: string;
  secretHash: string;
  roles: Role[];
  organization: string;
  /** The person (or system) that uses the key. */
  holder: string;
  label: string | null;
  createdAt: string;
  revokedAt: string | null;
  /** Last successful authentication, to the minute (null: never used since it was recorded). */
  lastUsedAt: string | null;
}

export interface PublicKey {
  id: string;
  roles: Role[];
  organization: string;
  holder: string;
  label: string | null;
  createdAt: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

/** What other modules read of keys (key.repo.ts implements it): a key's holder and organization, by id. */
export interface KeyDirectory {
  findById(db: Queryable, id: string): Promise<ApiKeyRow | null>;
}
