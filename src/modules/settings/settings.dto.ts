import { z } from 'zod';

/** GET /v1/settings: what a client needs to explain scores to people and to state the purpose policy before a search. */
export const deploymentSettings = z.object({
  scores: z.object({
    screeningTargetFmr: z.number().describe('SCREENING_TARGET_FMR: the false-match rate the screening threshold stands for'),
    verifyTargetFmr: z.number().describe('VERIFY_TARGET_FMR: the false-match rate the 1:1 verification threshold stands for'),
    calibrationFloor: z
      .number()
      .nullable()
      .describe("the smallest false-match rate the active model's calibration resolves (an estimate there means 'this rare or rarer'); null while the models load"),
    modelId: z.string().nullable(),
  }),
  review: z.object({
    weakLeadFmr: z.number().describe('REVIEW_WEAK_LEAD_FMR: candidates with a higher estimated false-match rate are shown collapsed as weak leads'),
  }),
  quality: z.object({ probeMinQuality: z.number(), enrolMinQuality: z.number() }),
  purpose: z.object({
    minLength: z.number().int().describe('a search purpose shorter than this (after trimming) is refused with PURPOSE_NOT_ALLOWED'),
    allowed: z.array(z.string()).nullable().describe("the purposes the caller's organization allows (exact text), or null for any text of minLength"),
  }),
});
