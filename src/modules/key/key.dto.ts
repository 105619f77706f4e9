import { z } from 'zod';
import { ROLES } from '../../shared/principal';

/** Request and response schemas of this module's routes: they validate input and describe the API in /openapi.json. */
export const createKeyBody = z
  .object({
    roles: z.array(z.enum(ROLES)).min(1),
    organization: z.string().trim().min(1).max(100).regex(/^(\*|[A-Za-z0-9._-]+)$/, 'letters, digits, . _ - (or * for all)'),
    holder: z.string().trim().min(1).max(200).describe('the person (or system) that uses the key; shown in reviews and reports, and two keys of one holder count once in four-eyes review'),
    label: z.string().max(200).optional(),
  })
  .strict();

export const publicKey = z.object({
  id: z.string().uuid(),
  roles: z.array(z.enum(ROLES)),
  organization: z.string(),
  holder: z.string(),
  label: z.string().nullable(),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
  lastUsedAt: z.string().nullable().describe('last successful authentication with the key, to the minute; null if never used'),
});
