import fs from 'node:fs';
import path from 'node:path';
import { createCalibration, type Calibration, type CalibrationTable } from '../../shared/calibration';
import { MODELS_DIR } from './model-manifest';

/** `<repo>/models/calibration`, beside the model manifest (found the same way from sources and from dist/). */
export const CALIBRATION_DIR = path.join(MODELS_DIR, 'calibration');

/** File name for a model id: characters outside [A-Za-z0-9._-] become '_'. */
export const calibrationFile = (modelId: string, dir = CALIBRATION_DIR) => path.join(dir, `${modelId.replace(/[^A-Za-z0-9._-]/g, '_')}.json`);

/** The calibration folders: the project's, then `<FACE_MODELS_DIR>/calibration` for a deployment's own models. */
export const calibrationDirs = (modelsDir?: string) => (modelsDir ? [CALIBRATION_DIR, path.join(modelsDir, 'calibration')] : [CALIBRATION_DIR]);

/** Loads and caches the calibration table shipped for each model; a model without one cannot be served (no uncalibrated scores). */
export function createCalibrationStore(dirs: string | string[] = CALIBRATION_DIR) {
  const cache = new Map<string, Calibration>();
  const list = Array.isArray(dirs) ? dirs : [dirs];
  return (modelId: string): Calibration => {
    let c = cache.get(modelId);
    if (!c) {
      const candidates = list.map((d) => calibrationFile(modelId, d));
      const file = candidates.find((f) => fs.existsSync(f));
      if (!file) throw new Error(`no calibration table for model ${modelId} (expected ${candidates.join(' or ')}); run npm run eval -- --calibrate`);
      const table = JSON.parse(fs.readFileSync(file, 'utf8')) as CalibrationTable;
      if (table.modelId !== modelId) throw new Error(`${file} is for model ${table.modelId}, not ${modelId}`);
      c = createCalibration(table);
      cache.set(modelId, c);
    }
    return c;
  };
}
