import type { z } from 'zod';
import type { Principal } from '../../shared/principal';
import type { deploymentSettings } from './settings.dto';

export type DeploymentSettings = z.output<typeof deploymentSettings>;

/**
 * The deployment's settings as a client reads them: score thresholds (the edges of the word bands people read), the weak-lead
 * limit, quality gates, and the purpose policy that applies to the caller's organization.
 */
export function createSettingsService(d: {
  matching: { screeningTargetFmr: number; verifyTargetFmr: number; probeMinQuality: number; enrolMinQuality: number };
  review: { weakLeadFmr: number };
  /** The active model and its calibration floor, or null while the models load. */
  model: () => { id: string; calibrationFloor: number } | null;
  purpose: (p: Principal) => Promise<{ minLength: number; allowed: string[] | null }>;
}) {
  return {
    async read(p: Principal): Promise<DeploymentSettings> {
      const m = d.model();
      return {
        scores: {
          screeningTargetFmr: d.matching.screeningTargetFmr,
          verifyTargetFmr: d.matching.verifyTargetFmr,
          calibrationFloor: m?.calibrationFloor ?? null,
          modelId: m?.id ?? null,
        },
        review: { weakLeadFmr: d.review.weakLeadFmr },
        quality: { probeMinQuality: d.matching.probeMinQuality, enrolMinQuality: d.matching.enrolMinQuality },
        purpose: await d.purpose(p),
      };
    },
  };
}

export type SettingsService = ReturnType<typeof createSettingsService>;
