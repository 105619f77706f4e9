import type { Db, Queryable } from '../../shared/db';
import type { StatsRepo } from './stats.repo';
import type { Principal } from '../../shared/principal';

/** Oversight statistics. Tenant rule: an auditor of an organization other than `*` sees its own organization's numbers only. */
export function createOversightService(d: { db: Db; stats: StatsRepo; reads?: () => Queryable }) {
  return {
    /** Aggregates over the window, on a read replica within its lag bound when there is one (both halves on the same reader). */
    async stats(p: Principal, w: { from?: Date; to?: Date }) {
      const organization = p.organization === '*' ? null : p.organization;
      const window = { ...w, organization };
      const q = d.reads?.() ?? d.db;
      const [usage, sharing] = await Promise.all([d.stats.stats(q, window), d.stats.sharing(q, window)]);
      return { from: w.from?.toISOString() ?? null, to: w.to?.toISOString() ?? null, organization: organization ?? '*', ...usage, ...sharing };
    },
  };
}

export type OversightService = ReturnType<typeof createOversightService>;
