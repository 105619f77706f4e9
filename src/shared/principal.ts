export const ROLES = ['searcher', 'enroller', 'reviewer', 'auditor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Who made a request: resolved from the bearer key on every call. Organization `*` reads across tenants (auditors, bootstrap admin). */
export interface Principal {
  keyId: string;
  roles: Role[];
  organization: string;
  /** The person (or system) using the key: four-eyes review counts holders, not keys. Always set for keys from the database;
   *  in-process principals (scripts) may omit it and then count as their key. */
  holder?: string;
}

/** Resolves a bearer token to its principal (key.service.ts implements it); null for unknown, wrong or revoked keys. */
export interface Authenticator {
  authenticate(token: string): Promise<Principal | null>;
}

/** Who a principal is for four-eyes purposes: the key's holder, else the key itself. */
export const holderOf = (p: Principal): string => p.holder ?? `key:${p.keyId}`;

export function hasRole(p: Principal, ...allowed: Role[]): boolean {
  return p.roles.some((r) => allowed.includes(r));
}

/** Cross-tenant reads are for keys of organization `*` only. */
export function canSeeOrganization(p: Principal, organization: string): boolean {
  return p.organization === '*' || p.organization === organization;
}
