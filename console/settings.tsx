import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { scoreScale, type ScoreScale } from '../src/shared/scores';

/** GET /v1/settings: what the console needs to explain scores and state the purpose policy (read once after sign-in). */
export interface DeploymentSettings {
  scores: { screeningTargetFmr: number; verifyTargetFmr: number; calibrationFloor: number | null; modelId: string | null };
  review: { weakLeadFmr: number };
  quality: { probeMinQuality: number; enrolMinQuality: number };
  purpose: { minLength: number; allowed: string[] | null };
}

export interface Settings {
  raw: DeploymentSettings;
  scale: ScoreScale;
}

export const settingsFrom = (raw: DeploymentSettings): Settings => ({
  raw,
  scale: scoreScale({ screeningTargetFmr: raw.scores.screeningTargetFmr, verifyTargetFmr: raw.scores.verifyTargetFmr, floor: raw.scores.calibrationFloor }),
});

export const SettingsContext = createContext<Settings | null>(null);

/** The deployment's settings; App renders views only once they are loaded. */
export function useSettings(): Settings {
  const s = useContext(SettingsContext);
  if (!s) throw new Error('settings are not loaded');
  return s;
}
