import type { Db } from '../../shared/db';
import type { Principal } from '../../shared/principal';
import { ForbiddenError, NotFoundError, PurposeNotAllowedError, ValidationError } from '../../shared/errors';
import { actorOf, type AuditLog } from '../audit/audit.model';
import type { PurposeCheck, PurposePolicy } from './purpose.model';
import type { PurposeRepo } from './purpose.repo';

/**
 * The purpose policy (purpose.model.ts): the deployment's minimum length, tightened per organization by its admin. An
 * organization's own minimum below the deployment's is refused (an organization can only ask for more). Changes are audited.
 */
export function createPurposeService(d: { db: Db; repo: PurposeRepo; audit: AuditLog; deploymentMinLength: number; clock?: () => Date }) {
  const { db, repo, audit } = d;
  const now = d.clock ?? (() => new Date());

  async function policyOf(organization: string): Promise<PurposePolicy> {
    const own = await repo.get(db, organization);
    if (!own) return { organization, minLength: d.deploymentMinLength, allowed: null, source: 'deployment', updatedAt: null };
    return { organization, minLength: Math.max(d.deploymentMinLength, own.minLength ?? 0), allowed: own.allowed, source: 'organization', updatedAt: own.updatedAt };
  }

  /** The organization an admin's change applies to: its own, or (admins of `*`) the one named. */
  function target(p: Principal, organization: string | undefined): string {
    if (p.organization === '*') {
      if (!organization) throw new ValidationError('An admin of organization * names the organization whose purpose policy it sets.', { missing: ['organization'] });
      return organization;
    }
    if (organization && organization !== p.organization) throw new ForbiddenError("An admin sets its own organization's purpose policy only.");
    return p.organization;
  }

  const service = {
    effective: (p: Principal) => policyOf(p.organization),

    async check(p: Principal, purpose: string): Promise<void> {
      const policy = await policyOf(p.organization);
      const text = purpose.trim();
      const details = { minLength: policy.minLength, allowed: policy.allowed };
      if (policy.allowed && !policy.allowed.includes(text)) {
        throw new PurposeNotAllowedError(`The purpose must be one of those your organization allows: ${policy.allowed.join('; ')}.`, details);
      }
      if ([...text].length < policy.minLength) {
        throw new PurposeNotAllowedError(`State the purpose in at least ${policy.minLength} characters (what the search is for, in words).`, details);
      }
    },

    async read(p: Principal, organization?: string): Promise<PurposePolicy> {
      return policyOf(p.organization === '*' && organization ? organization : p.organization);
    },

    async set(p: Principal, input: { organization?: string; minLength?: number | null; allowed?: string[] | null }): Promise<PurposePolicy> {
      const organization = target(p, input.organization);
      if (input.minLength != null && input.minLength < d.deploymentMinLength) {
        throw new ValidationError(`minLength may not be below the deployment's minimum (${d.deploymentMinLength}).`, { minLength: input.minLength, deploymentMinLength: d.deploymentMinLength });
      }
      const allowed = input.allowed ? [...new Set(input.allowed.map((a) => a.trim()))] : null;
      const short = allowed?.filter((a) => [...a].length < Math.max(d.deploymentMinLength, input.minLength ?? 0));
      if (short?.length) throw new ValidationError('An allowed purpose is shorter than the minimum length.', { allowed: short });
      await db.transaction(async (tx) => {
        await repo.put(tx, { organization, minLength: input.minLength ?? null, allowed, updatedBy: p.keyId }, now());
        await audit.append(tx, { type: 'purpose_policy.set', actor: actorOf(p), payload: { organization, minLength: input.minLength ?? null, allowed } });
      });
      return policyOf(organization);
    },

    async clear(p: Principal, organization?: string): Promise<PurposePolicy> {
      const org = target(p, organization);
      await db.transaction(async (tx) => {
        if (!(await repo.delete(tx, org))) throw new NotFoundError('Purpose policy');
        await audit.append(tx, { type: 'purpose_policy.cleared', actor: actorOf(p), payload: { organization: org } });
      });
      return policyOf(org);
    },
  };
  return service satisfies PurposeCheck;
}

export type PurposeService = ReturnType<typeof createPurposeService>;
