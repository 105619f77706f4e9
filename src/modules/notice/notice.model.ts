import type { Queryable } from '../../shared/db';
import type { FederationContext } from '../search/search.model';

/** A hit notice to a watchlist's owner: ids and the search's stated reason, never names, notes or images. */
export interface HitNotice {
  id: string;
  at: string;
  organization: string;
  watchlistId: string;
  subjectId: string;
  searchId: string;
  searchingOrganization: string;
  mode: string;
  similarity: number;
  estimatedFalseMatchRate: number;
  purpose: string;
  caseRef: string;
  /** Set when a partner deployment's federated search caused the hit: the federation request and who asked there. */
  federation?: FederationContext;
  /** Set when a reverse screening on enrolment caused the hit (issue 22 #3): the grant, and the owner's template that was the probe. */
  reverse?: ReverseScreeningContext;
}

/** The enrolled template a reverse screening searched with: whose subject, in which watchlist, under which grant. */
export interface ReverseScreeningContext {
  grantId: string;
  probe: { organization: string; watchlistId: string; subjectId: string; faceId: string };
}

export interface SealedSecret {
  keyId: string;
  nonce: Buffer;
  ciphertext: Buffer;
}

/** A delivery claimed by one instance: `leaseId` proves the claim when its attempt is recorded. */
export interface DueDelivery {
  id: string;
  leaseId: string;
  attempts: number;
  url: string;
  secret: SealedSecret;
  /** The secret before the last rotation, while it still signs (a second signature). */
  previousSecret: SealedSecret | null;
  notice: HitNotice;
}

/**
 * What an attempt came to, as the organization's admin sees it: a class, never the receiving service's status line or body
 * (the delivery log must not become a probe of what answers where).
 */
export type AttemptOutcome =
  | 'delivered'
  | 'destination_refused'
  | 'connect_failed'
  | 'timeout'
  | 'tls_failed'
  | 'protocol_error'
  | 'redirect_refused'
  | 'http_4xx'
  | 'http_5xx'
  | 'http_other';

export interface DeliveryRecord {
  id: string;
  noticeId: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: Array<{ attempt: number; at: string; outcome: AttemptOutcome }>;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
}

/**
 * How a search or verification leaves a notice for a watchlist's owner (notice.service.ts implements it): written in the
 * caller's transaction, so a notice exists exactly when the search that caused it does; delivered by the webhook worker.
 */
export interface NoticeSink {
  record(tx: Queryable, n: Omit<HitNotice, 'id'>): Promise<void>;
}
