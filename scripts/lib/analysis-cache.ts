import fs from 'node:fs';
import path from 'node:path';
import type { FaceEngine } from '../../src/shared/face.types';

/**
 * Analyses every file not yet in the JSON cache `cacheFile` with a fresh engine (`open`) and `workers` × 2 requests in flight,
 * saving the cache every 50 files and at the end; a file that throws is cached as null (and said on stderr). Returns each
 * file's cached value. The measurement scripts (quality-audit, enrol-gate) share it.
 */
export async function analyseCached<T>(opts: {
  name: string;
  files: string[];
  cacheFile: string;
  workers: number;
  open: () => Promise<FaceEngine>;
  analyse: (engine: FaceEngine, file: string) => Promise<T>;
}): Promise<Map<string, T | null>> {
  const { name, files, cacheFile } = opts;
  const cache: Record<string, T | null> = fs.existsSync(cacheFile) ? JSON.parse(fs.readFileSync(cacheFile, 'utf8')) : {};
  const todo = files.filter((f) => !(f in cache));
  if (todo.length) {
    const engine = await opts.open();
    process.stderr.write(`${name}: ${engine.model.id}; ${todo.length} images to analyse\n`);
    const save = () => {
      fs.mkdirSync(path.dirname(cacheFile), { recursive: true });
      fs.writeFileSync(cacheFile, JSON.stringify(cache));
    };
    let done = 0;
    const queue = [...todo];
    await Promise.all(
      Array.from({ length: opts.workers * 2 }, async () => {
        for (let f = queue.shift(); f; f = queue.shift()) {
          try {
            cache[f] = await opts.analyse(engine, f);
          } catch (e) {
            process.stderr.write(`${name}: ${f}: ${(e as Error).message}\n`);
            cache[f] = null;
          }
          if (++done % 50 === 0) {
            process.stderr.write(`${name}: ${done}/${todo.length}\n`);
            save();
          }
        }
      }),
    );
    await engine.close();
    save();
  }
  return new Map(files.map((f) => [f, cache[f] ?? null]));
}
