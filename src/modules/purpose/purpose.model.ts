import type { Principal } from '../../shared/principal';

/**
 * Purpose policy: every search and verification states why it is run (API.md "Searches"); the policy says what counts as a
 * stated reason. The operator sets a deployment-wide minimum length (PURPOSE_MIN_LENGTH); an organization's admin may require
 * more, or list the exact purposes its searches may state. A purpose that does not meet the policy is refused with
 * PURPOSE_NOT_ALLOWED before any face analysis (and the refused attempt is audited like any refused search).
 */
export interface PurposePolicy {
  organization: string;
  /** Shortest purpose accepted (after trimming), never below the deployment's minimum. */
  minLength: number;
  /** The purposes allowed verbatim (after trimming), or null for any text of minLength. */
  allowed: string[] | null;
  /** `deployment`: no policy of the organization's own; `organization`: set by its admin. */
  source: 'deployment' | 'organization';
  updatedAt: string | null;
}

/** What the search module asks before a search (purpose.service.ts implements it). */
export interface PurposeCheck {
  /** Throws PurposeNotAllowedError when `purpose` does not meet the caller's organization's policy. */
  check(p: Principal, purpose: string): Promise<void>;
  /** The policy that applies to the caller's organization. */
  effective(p: Principal): Promise<PurposePolicy>;
}
