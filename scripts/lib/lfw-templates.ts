/**
 * Real 512-d templates of the LFW dev images for scale measurements (scripts/gallery-scale.ts): every image embedded once with
 * the service's own engine (the face nearest the image centre, LFW convention) and cached as float32 in one file per model
 * weights, so re-runs do not re-embed. Identities come from the folder layout (Name/Name_NNNN.jpg).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { createFaceEngine, engineConfigFrom } from '../../src/platform/face/face-engine';
import { manifestDirs, readManifest, weightsSha256 } from '../../src/platform/face/model-manifest';

export interface LfwTemplates {
  modelId: string;
  dims: number;
  /** One row per embedded image (images without a face are left out). */
  identities: string[];
  files: string[];
  vectors: Float32Array[];
}

function listImages(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (/\.(jpe?g|png|webp)$/i.test(e.name)) out.push(path.relative(root, full));
    }
  };
  walk(root);
  return out;
}

/** Identity from the LFW layout (…/Name/Name_NNNN.ext); null when the layout does not say. */
function identityOf(rel: string): string | null {
  const parts = rel.split(path.sep);
  const dir = parts[parts.length - 2];
  return dir && parts[parts.length - 1]!.startsWith(`${dir}_`) ? dir : null;
}

/** Returns null when `root` holds no images (the caller says so and skips). */
export async function loadLfwTemplates(root: string, cacheDir: string, log: (s: string) => void): Promise<LfwTemplates | null> {
  if (!fs.existsSync(root)) return null;
  const rels = listImages(root).filter((r) => identityOf(r) !== null);
  if (!rels.length) return null;
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'silent' });
  const manifest = readManifest(config.face.model, manifestDirs(config.face.modelsDir));
  const key = `lfw-${manifest.id.replace(/[@/]/g, '_')}-${weightsSha256(manifest).slice(0, 16)}`;
  const cacheFile = path.join(cacheDir, `${key}.json`);
  type Cached = Record<string, string | null>;
  const cache: Cached = fs.existsSync(cacheFile) ? JSON.parse(fs.readFileSync(cacheFile, 'utf8')) : {};
  const todo = rels.filter((r) => !(r in cache));
  if (todo.length) {
    const workers = Math.max(1, Math.min(os.cpus().length, config.face.workers));
    log(`embedding ${todo.length} of ${rels.length} LFW images with ${manifest.id} (${workers} workers; cached in ${cacheFile})`);
    const engine = await createFaceEngine({ ...engineConfigFrom(config), workers, queueLimit: 1_000_000 });
    const t0 = performance.now();
    let done = 0;
    const save = () => {
      fs.mkdirSync(cacheDir, { recursive: true });
      fs.writeFileSync(cacheFile, JSON.stringify(cache));
    };
    const queue = [...todo];
    await Promise.all(
      Array.from({ length: workers * 2 }, async () => {
        for (let rel = queue.shift(); rel; rel = queue.shift()) {
          try {
            const a = await engine.analyze(fs.readFileSync(path.join(root, rel)), { centreFaceOnly: true });
            const e = a.faces[0]?.embedding;
            cache[rel] = e ? Buffer.from(Float32Array.from(e).buffer).toString('base64') : null;
          } catch {
            cache[rel] = null;
          }
          if (++done % 250 === 0) {
            log(`embedded ${done}/${todo.length} (${(done / ((performance.now() - t0) / 1000)).toFixed(1)} images/s)`);
            save();
          }
        }
      }),
    );
    await engine.close();
    save();
  }
  const out: LfwTemplates = { modelId: manifest.id, dims: manifest.embeddingSize ?? 512, identities: [], files: [], vectors: [] };
  for (const rel of rels) {
    const b64 = cache[rel];
    if (!b64) continue;
    const b = Buffer.from(b64, 'base64');
    out.identities.push(identityOf(rel)!);
    out.files.push(rel);
    out.vectors.push(new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)));
  }
  out.dims = out.vectors[0]?.length ?? out.dims;
  return out;
}
