import type { Queryable } from '../../shared/db';

/** The `read.*` event types (audit.model AuditEventType): every read of biometric data or subject records. */
export const READ_EVENT_TYPES = ['read.subjects', 'read.subject', 'read.face_image', 'read.search', 'read.probe_face', 'read.candidate_face', 'read.case_file'] as const;

export interface ReadStatsFilter {
  from?: Date;
  to?: Date;
  /**
   * null: every organization (auditors of `*`). Else `byReader` counts this organization's own readers only, and `byOwner` the
   * reads by this organization and the reads of its data by anyone (per organization, no holders of others).
   */
  organization: string | null;
}

export interface ReadStats {
  /** Per kind of read, reader organization and holder of the reading key: events and the subject ids they name. */
  byReader: Array<{ type: string; organization: string; holder: string | null; events: number; subjects: number }>;
  /** Per data owner (organization whose subjects or searches were read) and reader organization. */
  byOwner: Array<{ owner: string; organization: string; events: number }>;
}

/**
 * Counts of read events over a window, grouped in SQL (one pass per grouping over the read types, by the (type, seq) index and
 * the window). The holder is the acting key's, joined from api_key (a revoked key keeps its holder).
 */
export async function readStats(db: Queryable, f: ReadStatsFilter): Promise<ReadStats> {
  const where = `e.type = ANY($1::text[])
       AND ($2::timestamptz IS NULL OR e.at >= $2) AND ($3::timestamptz IS NULL OR e.at < $3)`;
  const params = [[...READ_EVENT_TYPES], f.from ?? null, f.to ?? null, f.organization];
  const byReader = await db.query<{ type: string; organization: string; holder: string | null; events: number; subjects: number }>(
    `SELECT e.type, e.actor->>'organization' AS organization, k.holder, count(*)::int AS events,
            COALESCE(sum(cardinality(e.subject_ids)), 0)::int AS subjects
       FROM audit_event e LEFT JOIN api_key k ON k.id::text = e.actor->>'keyId'
      WHERE ${where} AND ($4::text IS NULL OR e.actor->>'organization' = $4)
      GROUP BY 1, 2, 3 ORDER BY 2, 3 NULLS FIRST, 1`,
    params,
  );
  const byOwner = await db.query<{ owner: string; organization: string; events: number }>(
    `SELECT o.owner, e.actor->>'organization' AS organization, count(*)::int AS events
       FROM audit_event e CROSS JOIN LATERAL jsonb_array_elements_text(COALESCE(e.payload->'owners', '[]'::jsonb)) AS o(owner)
      WHERE ${where} AND ($4::text IS NULL OR e.actor->>'organization' = $4 OR o.owner = $4)
      GROUP BY 1, 2 ORDER BY 1, 2`,
    params,
  );
  return {
    byReader: byReader.rows.map((r) => ({ ...r, events: Number(r.events), subjects: Number(r.subjects) })),
    byOwner: byOwner.rows.map((r) => ({ ...r, events: Number(r.events) })),
  };
}
