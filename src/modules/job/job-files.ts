import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * The photos of screening jobs while they wait: SCREENING_JOB_DIR/<job id>/<nnnnnn>.img, written by the upload (job-upload.ts),
 * or a video job's clip (<job id>/clip.video), each removed once its item is final and the folder once the job is. Photos and
 * clips are never kept past their search.
 */
export function createJobFiles(root: string) {
  const dirOf = (jobId: string) => path.join(root, jobId);
  const fileOf = (jobId: string, stored: string) => path.join(dirOf(jobId), path.basename(stored));
  const quiet = (p: Promise<unknown>) => p.then(() => undefined, () => undefined);
  return {
    root,
    dirOf,
    read: (jobId: string, stored: string) => fs.readFile(fileOf(jobId, stored)),
    /** A clip of a video job (POST /v1/jobs/video), written whole: owner-only, in a folder of its own. */
    async write(jobId: string, stored: string, data: Buffer): Promise<void> {
      await fs.mkdir(dirOf(jobId), { recursive: true, mode: 0o700 });
      await fs.writeFile(fileOf(jobId, stored), data, { mode: 0o600, flag: 'wx' });
    },
    remove: (jobId: string, stored: string) => quiet(fs.rm(fileOf(jobId, stored), { force: true })),
    removeJob: (jobId: string) => quiet(fs.rm(dirOf(jobId), { recursive: true, force: true })),
    /**
     * After a crash: removes what no waiting item needs any more. `state(jobId)`: null for a folder of no job (an upload that
     * never became one: removed when older than `orphanMs`), else the stored files its pending items still wait with.
     */
    async sweep(state: (jobId: string) => Promise<string[] | null>, orphanMs = 3_600_000): Promise<void> {
      const names = await fs.readdir(root).catch(() => [] as string[]);
      for (const name of names) {
        if (!/^[0-9a-f-]{36}$/.test(name)) continue;
        const waiting = await state(name);
        if (waiting === null) {
          const st = await fs.stat(dirOf(name)).catch(() => null);
          if (st && Date.now() - st.mtimeMs > orphanMs) await quiet(fs.rm(dirOf(name), { recursive: true, force: true }));
          continue;
        }
        if (!waiting.length) {
          await quiet(fs.rm(dirOf(name), { recursive: true, force: true }));
          continue;
        }
        const keep = new Set(waiting);
        for (const f of await fs.readdir(dirOf(name)).catch(() => [] as string[])) if (!keep.has(f)) await quiet(fs.rm(path.join(dirOf(name), f), { force: true }));
      }
    },
  };
}

export type JobFiles = ReturnType<typeof createJobFiles>;
