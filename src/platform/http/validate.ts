import type { Request } from 'express';
import type { z } from 'zod';
import { CaseRefRequiredError, PurposeRequiredError, ValidationError } from '../../shared/errors';

// A lone UTF-16 surrogate (not part of a pair), which no UTF-8 text column can store.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// Any C0 control character or DEL: never valid in a field name.
const CONTROL = /[\u0000-\u001F\u007F]/;

/**
 * Text that PostgreSQL cannot store (NUL) or that is not Unicode (lone surrogates) anywhere in the input, and control
 * characters in field names: found before any schema runs, so such input is a 400 and never reaches the database or the engine.
 */
function badText(input: unknown, at: string[] = [], depth = 0): { path: string; message: string } | null {
  const path = at.join('.');
  if (typeof input === 'string') {
    if (input.includes('\u0000')) return { path, message: 'must not contain NUL characters' };
    if (LONE_SURROGATE.test(input)) return { path, message: 'must be valid Unicode (a lone surrogate was found)' };
    return null;
  }
  if (input && typeof input === 'object' && depth < 20) {
    for (const [k, v] of Object.entries(input)) {
      if (CONTROL.test(k) || LONE_SURROGATE.test(k)) return { path: [...at, JSON.stringify(k)].join('.'), message: 'field names must not contain control characters' };
      const bad = badText(v, [...at, k], depth + 1);
      if (bad) return bad;
    }
  }
  return null;
}

/** Parses input with a zod schema; failures become 400 VALIDATION_FAILED listing each bad field. */
export function parse<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const bad = badText(input);
  if (bad) throw new ValidationError('The request is not valid.', [bad]);
  const r = schema.safeParse(input);
  if (!r.success) {
    throw new ValidationError(
      'The request is not valid.',
      r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    );
  }
  return r.data;
}

/**
 * `purpose` and `caseRef` of a search's form (POST /v1/searches, its video sibling, screening and video jobs), checked before
 * anything else: no search runs without a stated reason. PURPOSE_REQUIRED names every missing one; CASE_REF_REQUIRED otherwise.
 */
export function requirePurpose(req: Request): void {
  const body = (req.body ?? {}) as Record<string, unknown>;
  const missing = ['purpose', 'caseRef'].filter((k) => typeof body[k] !== 'string' || !(body[k] as string).trim());
  if (missing.includes('purpose')) throw new PurposeRequiredError(missing);
  if (missing.length) throw new CaseRefRequiredError();
}
