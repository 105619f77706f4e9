import { randomBytes, randomUUID } from 'node:crypto';
import type { Role } from '../../src/domain/api-key';
import type { Db, Queryable } from '../../src/infra/db/db';
import { createAuditRepo } from '../../src/infra/db/audit.repo';
import { createSearchRepo } from '../../src/infra/db/search.repo';

/**
 * Stored searches without the face engine: the same record and `search.run` audit event that SearchService.search writes,
 * in one transaction on the real database, with candidates chosen by the test.
 */
export interface SeedCandidate {
  faceIndex: number;
  subjectId: string;
  similarity?: number;
  watchlistId?: string;
}

export async function seedSearch(
  db: Db,
  by: { keyId: string; organization: string; roles?: Role[] },
  opts: { candidates: SeedCandidate[]; mode?: 'investigative' | 'screening'; kind?: 'search' | 'verify'; createdAt?: string; caseRef?: string; purpose?: string },
): Promise<string> {
  const id = randomUUID();
  const createdAt = opts.createdAt ?? new Date().toISOString();
  const mode = opts.mode ?? 'investigative';
  const faceIndexes = [...new Set([0, ...opts.candidates.map((c) => c.faceIndex)])].sort();
  const faces = faceIndexes.map((faceIndex) => ({
    faceIndex,
    box: { x: 10, y: 10, width: 80, height: 80 },
    quality: { score: 0.9, issues: [] },
    candidates: opts.candidates
      .filter((c) => c.faceIndex === faceIndex)
      .map((c, i) => ({
        rank: i + 1,
        subjectId: c.subjectId,
        category: 'fraud',
        watchlistId: c.watchlistId ?? '00000000-0000-4000-8000-000000000000',
        faceId: randomUUID(),
        similarity: c.similarity ?? 0.9 - i * 0.05,
        estimatedFalseMatchRate: 1e-4,
      })),
  }));
  const probeSha256 = randomUUID().replace(/-/g, '').padEnd(64, '0');
  const model = { id: 'test-model', detector: 'd', embedder: 'e', version: '1', weightsSha256: '0'.repeat(64) };
  const purpose = opts.purpose ?? 'fraud investigation';
  const caseRef = opts.caseRef ?? 'CASE-1';
  const audit = createAuditRepo();
  await db.transaction(async (tx: Queryable) => {
    const ev = await audit.append(tx, {
      type: opts.kind === 'verify' ? 'verify.run' : 'search.run',
      actor: { keyId: by.keyId, organization: by.organization, roles: by.roles ?? ['searcher'] },
      subjectIds: [...new Set(opts.candidates.map((c) => c.subjectId))],
      searchId: id,
      payload: { purpose, caseRef, mode, probeSha256, candidates: opts.candidates.map((c) => ({ faceIndex: c.faceIndex, subjectId: c.subjectId })) },
    }, new Date(createdAt));
    const anyCandidate = opts.candidates.length > 0;
    const result = {
      searchId: id,
      createdAt,
      mode,
      probe: { sha256: probeSha256, width: 640, height: 480, facesDetected: faces.length },
      faces,
      humanReviewRequired: anyCandidate,
      reviewReasons: anyCandidate ? ['CANDIDATES_ARE_LEADS_ONLY'] : [],
      thresholds: { screeningSimilarity: 0.8, screeningTargetFmr: 1e-4 },
      model,
      gallery: { templates: 10, snapshot: `${ev.seq - 1}:${ev.prevHash.slice(0, 16)}` },
      audit: { seq: ev.seq, hash: ev.hash },
    };
    await createSearchRepo().insert(tx, {
      id,
      kind: opts.kind ?? 'search',
      organization: by.organization,
      keyId: by.keyId,
      mode: opts.kind === 'verify' ? 'verify' : mode,
      purpose,
      caseRef,
      probeSha256,
      modelId: model.id,
      params: { topK: 20 },
      result,
      createdAt,
    });
  });
  return id;
}

/** Runs one statement with the append-only trigger disabled (as the superuser the tests connect as), then re-enables it. */
export async function bypassingTrigger(db: Db, sql: string, params: unknown[] = []): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query('ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update_delete');
    await tx.query(sql, params);
    await tx.query('ALTER TABLE audit_event ENABLE TRIGGER audit_event_no_update_delete');
  });
}

/**
 * Environment for startService in these tests: an explicit image key (required with PostgreSQL, and keeps the embedded mode from
 * writing a key file under the resolved DATA_DIR) and a rate limit that bursts of test requests do not hit.
 */
export const serviceEnv = (): Record<string, string> => ({
  FACEMATCH_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  RATE_LIMIT_PER_MINUTE: '1000000',
  RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE: '1000000',
});
