import { z } from 'zod';

/** Request and response schemas of this module's routes: they validate input and describe the API in /openapi.json. */
const organization = z.string().trim().min(1).max(100).regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, . _ -');

export const purposePolicyQuery = z.object({ organization: organization.optional().describe('admins and auditors of *: the organization to read') });

export const purposePolicyBody = z
  .object({
    organization: organization.optional().describe('admins of * only: the organization whose policy is set'),
    minLength: z.number().int().min(1).max(1000).nullish().describe("shortest purpose accepted; at least the deployment's PURPOSE_MIN_LENGTH"),
    allowed: z.array(z.string().trim().min(1).max(1000)).min(1).max(100).nullish().describe('the exact purposes searches may state; null or absent: any text of minLength'),
  })
  .strict();

export const purposePolicyClearQuery = purposePolicyQuery;

export const purposePolicy = z.object({
  organization: z.string(),
  minLength: z.number().int(),
  allowed: z.array(z.string()).nullable(),
  source: z.enum(['deployment', 'organization']).describe("deployment: the organization has no policy of its own; organization: set by its admin"),
  updatedAt: z.string().nullable(),
});
