import type { Queryable } from '../../shared/db';
import { REDACTED, redactJson, redactText } from './redaction';
import type { RedactionCounts } from './oversight.model';

/**
 * The SQL of erasure's redaction (redaction.ts states the rule). Runs in the erasure's transaction, which holds the audit
 * append lock first: a search, review or notice that commits later is serialised after the erasure (a search naming an erased
 * subject is refused then, search.service `outdated`), and everything committed earlier is visible here.
 */
/** Writes back each row whose redacted form differs from it; returns how many were written. */
async function rewrite<R>(read: { rows: R[] }, redact: (r: R) => R, write: (r: R) => Promise<unknown>): Promise<number> {
  let n = 0;
  for (const r of read.rows) {
    const x = redact(r);
    if (JSON.stringify(x) === JSON.stringify(r)) continue;
    await write(x);
    n++;
  }
  return n;
}

export function createRedactionRepo() {
  return {
    /**
     * Redacts the free text that touched searches hold about the subject. `names` tells whether a text names the subject.
     * Touched searches are found through indexed columns: audit_event.subject_ids (search.run, verify.run and review.recorded
     * name their subjects; GIN index), review.subject_id and hit_notice.subject_id.
     */
    async redactForSubject(tx: Queryable, subjectId: string, names: (t: string) => boolean, at: string): Promise<RedactionCounts> {
      const touched = (
        await tx.query<{ id: string }>(
          `SELECT search_id AS id FROM audit_event WHERE subject_ids @> ARRAY[$1::uuid] AND search_id IS NOT NULL
           UNION SELECT search_id FROM review WHERE subject_id = $1
           UNION SELECT search_id FROM hit_notice WHERE subject_id = $1`,
          [subjectId],
        )
      ).rows.map((r) => r.id);

      const searches = await rewrite(
        await tx.query<{ id: string; purpose: string; case_ref: string; params: unknown }>('SELECT id, purpose, case_ref, params FROM search WHERE id = ANY($1::uuid[])', [touched]),
        (r) => ({ ...r, ...(redactJson(names, { purpose: r.purpose, case_ref: r.case_ref, params: r.params }) as object) }),
        (r) => tx.query('UPDATE search SET purpose = $2, case_ref = $3, params = $4::jsonb WHERE id = $1', [r.id, r.purpose, r.case_ref, JSON.stringify(r.params)]),
      );
      const reviews = await rewrite(
        await tx.query<{ id: string; subject_id: string; rationale: string }>('SELECT id, subject_id, rationale FROM review WHERE search_id = ANY($1::uuid[])', [touched]),
        (r) => ({ ...r, rationale: r.subject_id === subjectId ? REDACTED : redactText(names, r.rationale)! }),
        (r) => tx.query('UPDATE review SET rationale = $2 WHERE id = $1', [r.id, r.rationale]),
      );
      const notices = await rewrite(
        await tx.query<{ id: string; purpose: string; case_ref: string; federation: unknown }>(
          'SELECT id, purpose, case_ref, federation FROM hit_notice WHERE search_id = ANY($1::uuid[]) OR subject_id = $2',
          [touched, subjectId],
        ),
        (r) => ({ ...r, ...(redactJson(names, { purpose: r.purpose, case_ref: r.case_ref, federation: r.federation }) as object) }),
        (r) => tx.query('UPDATE hit_notice SET purpose = $2, case_ref = $3, federation = $4::jsonb WHERE id = $1', [r.id, r.purpose, r.case_ref, r.federation === null ? null : JSON.stringify(r.federation)]),
      );
      const federationRequests = await rewrite(
        await tx.query<{ id: string; purpose: string; case_ref: string }>('SELECT id, purpose, case_ref FROM federation_request WHERE search_id = ANY($1::uuid[])', [touched]),
        (r) => ({ ...r, purpose: redactText(names, r.purpose)!, case_ref: redactText(names, r.case_ref)! }),
        (r) => tx.query('UPDATE federation_request SET purpose = $2, case_ref = $3 WHERE id = $1', [r.id, r.purpose, r.case_ref]),
      );
      // The text of the events about those searches and about the subject (a refused verification against it included). A row
      // that loses any field loses its salt too: its HMACs in the chain then confirm no guess.
      const auditTexts = await rewrite(
        await tx.query<{ seq: string; about_subject: boolean; type: string; purpose: string | null; case_ref: string | null; rationale: string | null }>(
          `SELECT t.seq, e.type, e.subject_ids @> ARRAY[$1::uuid] AS about_subject, t.purpose, t.case_ref, t.rationale
             FROM audit_text t JOIN audit_event e ON e.seq = t.seq
            WHERE t.salt IS NOT NULL
              AND (e.subject_ids @> ARRAY[$1::uuid] OR e.search_id = ANY($2::uuid[])
                   OR (e.type = 'verify.failed' AND e.payload->>'subjectId' = $1::text))`,
          [subjectId, touched],
        ),
        (r) => ({
          ...r,
          purpose: redactText(names, r.purpose),
          case_ref: redactText(names, r.case_ref),
          rationale: r.rationale !== null && r.type === 'review.recorded' && r.about_subject ? REDACTED : redactText(names, r.rationale),
        }),
        (r) => tx.query('UPDATE audit_text SET salt = NULL, purpose = $2, case_ref = $3, rationale = $4, redacted_at = $5 WHERE seq = $1', [r.seq, r.purpose, r.case_ref, r.rationale, at]),
      );
      return { searches, reviews, notices, federationRequests, auditTexts };
    },
  };
}

export type RedactionRepo = ReturnType<typeof createRedactionRepo>;
