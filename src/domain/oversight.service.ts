import type { Db } from '../infra/db/db';
import type { StatsRepo } from '../infra/db/stats.repo';
import type { Principal } from './api-key';

/** Oversight statistics. Tenant rule: an auditor of an organization other than `*` sees its own organization's numbers only. */
export function createOversightService(d: { db: Db; stats: StatsRepo }) {
  return {
    async stats(p: Principal, w: { from?: Date; to?: Date }) {
      const organization = p.organization === '*' ? null : p.organization;
      const window = { ...w, organization };
      const [usage, sharing] = await Promise.all([d.stats.stats(d.db, window), d.stats.sharing(d.db, window)]);
      return { from: w.from?.toISOString() ?? null, to: w.to?.toISOString() ?? null, organization: organization ?? '*', ...usage, ...sharing };
    },
  };
}

export type OversightService = ReturnType<typeof createOversightService>;
