import type { AnalyzedImage, FaceEngine } from '../../shared/face.types';

/**
 * The engine as the services use it: every template it returns must have the length its model declares. A mismatch (a
 * misconfigured or stand-in engine) would store templates in the wrong index or compare unlike with unlike, so it is refused
 * as an internal error before anything is stored.
 */
export function dimensionCheckedEngine(e: FaceEngine): FaceEngine {
  const checked = (r: AnalyzedImage) => {
    for (const f of r.faces) {
      if (f.embedding.length !== e.model.dimensions) {
        throw new Error(`the face engine returned a ${f.embedding.length}-d template for model ${e.model.id} (${e.model.dimensions}-d)`);
      }
    }
    return r;
  };
  return {
    model: e.model,
    queueDepth: () => e.queueDepth(),
    close: () => e.close(),
    analyze: async (image, options) => checked(await e.analyze(image, options)),
    ...(e.analyzeChips ? { analyzeChips: async (chips: Buffer[]) => checked(await e.analyzeChips!(chips)) } : {}),
  };
}
