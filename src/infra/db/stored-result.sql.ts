import { storedCandidate, storedFace, storedSearchResult } from '../../domain/search-result';

/**
 * The jsonb paths SQL reads in a stored search result (`search.result`, shape owned by domain/search-result.ts): the only
 * place they are written. Each key is checked against the schema's shape, by type and when this module loads, so a renamed
 * or removed field fails the build instead of silently reading null. Rows without a `version` have the same paths (version 1).
 *
 * Fragments use fixed aliases: `s` the search row, `f` one probe face, `c` one candidate of it.
 */
const key = <S extends { shape: Record<string, unknown> }>(schema: S, k: Extract<keyof S['shape'], string>): string => {
  if (!(k in schema.shape)) throw new Error(`stored search result has no field ${k}`);
  return k;
};

const FACES = key(storedSearchResult, 'faces');
const CANDIDATES = key(storedFace, 'candidates');

/** After `FROM search s`: one row per candidate of a 1:N search, `f` its probe face and `c` the candidate (both jsonb). */
export const CANDIDATE_ROWS = `CROSS JOIN LATERAL jsonb_array_elements(COALESCE(s.result->'${FACES}', '[]'::jsonb)) f
      CROSS JOIN LATERAL jsonb_array_elements(COALESCE(f->'${CANDIDATES}', '[]'::jsonb)) c`;

/** Of `f`: the probe face's index (int). */
export const FACE_INDEX = `(f->>'${key(storedFace, 'faceIndex')}')::int`;
/** Of `f`: its box and quality, as one jsonb object. */
export const FACE_BOX_QUALITY = `jsonb_build_object('box', f->'${key(storedFace, 'box')}', 'quality', f->'${key(storedFace, 'quality')}')`;
/** Of `c`: the candidate's subject, watchlist (uuid) and rank (int). */
export const SUBJECT_ID = `(c->>'${key(storedCandidate, 'subjectId')}')::uuid`;
export const WATCHLIST_ID = `(c->>'${key(storedCandidate, 'watchlistId')}')::uuid`;
export const RANK = `(c->>'${key(storedCandidate, 'rank')}')::int`;

/** Of `s`: whether the search needed human review (boolean), and whether any of its faces has a candidate. */
export const HUMAN_REVIEW_REQUIRED = `(s.result->>'${key(storedSearchResult, 'humanReviewRequired')}')::boolean`;
export const HAS_CANDIDATES = `jsonb_path_exists(s.result, '$.${FACES}[*].${CANDIDATES}[*]')`;
