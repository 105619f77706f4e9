import type { Request } from 'express';
import { isLocale, pickLocale, type Locale } from '../../shared/locale';

/**
 * The language a person reads an answer in (the case file): `?lang=` when it names a supported language, else the request's
 * Accept-Language, else English. Only text for people changes; fields and error codes never do.
 */
export function localeOf(req: Request): Locale {
  const q = req.query.lang;
  if (isLocale(q)) return q;
  return pickLocale(req.acceptsLanguages());
}
