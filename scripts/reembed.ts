/**
 * Re-embeds the gallery for the configured model (FACE_MODEL) from the stored, encrypted enrolment photos
 * (docs/models.md):
 *
 *   FACE_MODEL=<new model id> npm run reembed [-- --dry-run]
 *
 * Every template of another model that has a stored photo and no template of the new model derived from it gets one:
 * detection, alignment and embedding run again on the photo, the face overlapping the enrolled box is kept, and the new
 * template is stored (with its own encrypted copies) and audited as `face.reembedded`. Old templates stay, so the service can
 * still be rolled back; searches compare only templates of the model they run. Safe to re-run: it resumes where it stopped.
 * Connects like the service (DATABASE_URL, or the embedded database under DATA_DIR: refused, naming the pid, while a service holds it).
 */
import { parseArgs } from 'node:util';
import pino from 'pino';
import { compose } from '../src/compose';
import { loadConfig } from '../src/config';
import { createFaceRepo } from '../src/modules/gallery/face.repo';
import { prepareSchema } from '../src/platform/db/migrate';
import { openDb } from '../src/platform/db/open';

const { values } = parseArgs({ options: { 'dry-run': { type: 'boolean', default: false } } });

/** The actor recorded in the audit chain for re-embedding: an operator's offline run, not an API key. */
const OPERATOR = { keyId: '00000000-0000-0000-0000-000000000000', organization: '*', roles: ['admin' as const] };

async function main() {
  const config = loadConfig();
  const db = await openDb({ url: config.db.url, dataDir: config.dataDir, poolSize: 2 });
  const system = await compose({ config, db, logger: pino({ level: 'silent' }) });
  try {
    await prepareSchema(db, { migrate: config.db.migrateOnStart });
    const faces = createFaceRepo();
    if (values['dry-run']) {
      const pending = await faces.pendingReembed(db, config.face.model, 1_000_000);
      process.stdout.write(`${JSON.stringify({ model: config.face.model, pending: pending.length })}\n`);
      return;
    }
    const engine = await system.startEngine();
    const t0 = performance.now();
    let done = 0;
    const skipped: { faceId: string; reason: string }[] = [];
    for (let after: string | undefined, page = await faces.pendingReembed(db, engine.model.id, 100); page.length; page = await faces.pendingReembed(db, engine.model.id, 100, after)) {
      for (const old of page) {
        const r = await system.subjects.reembedFace(OPERATOR, old);
        if (r.faceId) done++;
        else skipped.push({ faceId: old.id, reason: r.reason! });
        after = old.id;
      }
      process.stderr.write(`reembed: ${done} re-embedded, ${skipped.length} skipped\n`);
    }
    process.stdout.write(`${JSON.stringify({ model: engine.model.id, reembedded: done, skipped, ms: Math.round(performance.now() - t0) })}\n`);
  } finally {
    await system.close();
    await db.close();
  }
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
