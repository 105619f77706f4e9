import { z } from 'zod';
import { LOCALES } from '../../shared/locale';
import { timeWindow } from '../../platform/http/fields';

/** Request and response schemas of this module's routes: they validate input and describe the API in /openapi.json. */
export const reportQuery = z.object({
  format: z.enum(['json', 'html']).default('json'),
  lang: z.enum(LOCALES).optional().describe("language of the HTML case file (en, es-MX); without it the request's Accept-Language, else English"),
});

export const statsQuery = z.object(timeWindow);
