import type { Queryable } from '../../shared/db';
import type { SearchFilter, SearchRecord, SearchStore } from './search.model';

interface Row {
  id: string;
  kind: 'search' | 'verify';
  organization: string;
  key_id: string;
  mode: string;
  purpose: string;
  case_ref: string;
  probe_sha256: string;
  model_id: string;
  params: Record<string, unknown>;
  result: Record<string, unknown>;
  created_at: Date;
}

const toRecord = (r: Row): SearchRecord => ({
  id: r.id,
  kind: r.kind,
  organization: r.organization,
  keyId: r.key_id,
  mode: r.mode,
  purpose: r.purpose,
  caseRef: r.case_ref,
  probeSha256: r.probe_sha256,
  modelId: r.model_id,
  params: r.params,
  result: r.result,
  createdAt: new Date(r.created_at).toISOString(),
});

export function createSearchRepo() {
  const repo = {
    async insert(db: Queryable, s: SearchRecord): Promise<void> {
      await db.query(
        `INSERT INTO search (id, kind, organization, key_id, mode, purpose, case_ref, probe_sha256, model_id, params, result, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11::jsonb, $12)`,
        [s.id, s.kind, s.organization, s.keyId, s.mode, s.purpose, s.caseRef, s.probeSha256, s.modelId, JSON.stringify(s.params), JSON.stringify(s.result), s.createdAt],
      );
    },

    /**
     * One stored search. `forUpdate` (inside a transaction) row-locks it until that transaction ends: decisions about one
     * search are then made one after another, each seeing the ones committed before it.
     */
    async get(db: Queryable, id: string, opts: { forUpdate?: boolean } = {}): Promise<SearchRecord | null> {
      const r = await db.query<Row>(opts.forUpdate ? 'SELECT * FROM search WHERE id = $1 FOR UPDATE' : 'SELECT * FROM search WHERE id = $1', [id]);
      return r.rows[0] ? toRecord(r.rows[0]) : null;
    },

    async list(db: Queryable, f: SearchFilter): Promise<SearchRecord[]> {
      const r = await db.query<Row>(
        `SELECT * FROM search
          WHERE ($1::text IS NULL OR organization = $1)
            AND ($2::uuid IS NULL OR key_id = $2)
            AND ($3::timestamptz IS NULL OR created_at >= $3)
            AND ($4::timestamptz IS NULL OR created_at < $4)
            AND ($5::text IS NULL OR case_ref = $5)
            AND ($6::text IS NULL OR kind = $6)
            AND ($7::timestamptz IS NULL OR (created_at, id) > ($7::timestamptz, $8::uuid))
          ORDER BY created_at, id
          LIMIT $9`,
        [f.organization, f.keyId ?? null, f.from ?? null, f.to ?? null, f.caseRef ?? null, f.kind ?? null, f.after?.createdAt ?? null, f.after?.id ?? null, f.limit],
      );
      return r.rows.map(toRecord);
    },
  };
  return repo satisfies SearchStore;
}

export type SearchRepo = ReturnType<typeof createSearchRepo>;
