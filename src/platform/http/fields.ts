import { z } from 'zod';

/** Request-field parsers and the small shapes many responses share (validation and /openapi.json from one schema). */
export const shortName = z.string().trim().min(1).max(100);

export const commaList = <T extends z.ZodType<unknown, string>>(item: T) =>
  z
    .string()
    .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
    .pipe(z.array(item).max(50));

/**
 * Numbers in query strings and multipart fields: plain decimal digits only. z.coerce would also take '0x10', ' 5 ', '1e1'
 * and '' (as 0), which a client did not mean.
 */
export const intText = (min: number, max: number) =>
  z.union([z.number(), z.string().regex(/^[0-9]{1,9}$/, 'a decimal integer').transform(Number)]).pipe(z.number().int().min(min).max(max));

export const decimalText = (min: number, max: number) =>
  z.union([z.number(), z.string().regex(/^[0-9]{1,9}(\.[0-9]{1,12})?$/, 'a decimal number').transform(Number)]).pipe(z.number().min(min).max(max));

export const INSTANT_HINT = 'expected an ISO 8601 date (2026-01-31, midnight UTC) or date-time with a zone (2026-01-31T09:30:00Z)';

/**
 * Years a stored date may have: PostgreSQL has no year 0 (`0000-01-01` is "date/time field value out of range", a 500 if it got
 * that far), and four-digit years keep every value printable. Applied to every date and date-time field of a request.
 */
export const inDateRange = (v: string): boolean => Number(v.slice(0, 4)) >= 1;
export const DATE_RANGE_HINT = 'years run from 0001 to 9999 (there is no year 0000)';

/** A calendar date (YYYY-MM-DD) in the range PostgreSQL stores. */
export const isoDate = () => z.iso.date().refine(inDateRange, DATE_RANGE_HINT);
/** A date-time with Z or an offset in the range PostgreSQL stores. */
export const isoDateTime = () => z.iso.datetime({ offset: true }).refine(inDateRange, DATE_RANGE_HINT);

/** A query instant (`from`, `to`): an ISO 8601 date or date-time with Z or an offset; parsed to a Date. */
export const instant = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/, INSTANT_HINT)
  .transform((v, ctx) => {
    const [y, m, day] = v.slice(0, 10).split('-').map(Number) as [number, number, number];
    const calendar = new Date(Date.UTC(y, m - 1, day));
    const d = new Date(v);
    if (!inDateRange(v)) {
      ctx.addIssue({ code: 'custom', message: `${INSTANT_HINT}; ${DATE_RANGE_HINT}` });
      return z.NEVER;
    }
    if (Number.isNaN(d.getTime()) || calendar.getUTCMonth() !== m - 1 || calendar.getUTCDate() !== day) {
      ctx.addIssue({ code: 'custom', message: `${INSTANT_HINT}; ${v} is not a calendar date` });
      return z.NEVER;
    }
    return d;
  })
  .meta({ description: 'ISO 8601 date (midnight UTC) or date-time with Z or an offset', examples: ['2026-01-31', '2026-01-31T09:30:00Z'] });

export const uuidParam = z.object({ id: z.string().uuid() });

export const smallIndex = z.string().regex(/^\d{1,4}$/, 'a decimal number: 0, 1, 2 …').transform(Number);

export const boxShape = z.object({ x: z.number(), y: z.number(), width: z.number(), height: z.number() });

export const qualityShape = z.object({ score: z.number().min(0).max(1), issues: z.array(z.string()) });

export const timeWindow = {
  from: instant.optional().describe('inclusive start: ISO 8601 date (midnight UTC) or date-time with Z or an offset'),
  to: instant.optional().describe('exclusive end: ISO 8601 date (midnight UTC) or date-time with Z or an offset'),
};
