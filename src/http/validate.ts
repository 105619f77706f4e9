import type { z } from 'zod';
import { ValidationError } from '../domain/errors';

/** Parses input with a zod schema; failures become 400 VALIDATION_FAILED listing each bad field. */
export function parse<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const r = schema.safeParse(input);
  if (!r.success) {
    throw new ValidationError(
      'The request is not valid.',
      r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    );
  }
  return r.data;
}
