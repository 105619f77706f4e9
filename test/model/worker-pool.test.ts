import { createFaceEngine, createInProcessFaceEngine } from '../../src/platform/face/face-engine';
import { sample } from '../helpers/fixtures';

/** The worker-pool engine: same answers as in-process analysis, bounded admission with 503 + Retry-After. */
const limits = { maxPixels: 50_000_000, maxBytes: 15 * 1024 * 1024 };

describe('worker pool engine', () => {
  it('returns the same faces and embeddings (within 1e-4) as the in-process analyzer', async () => {
    const pool = await createFaceEngine({ backend: 'wasm', workers: 1, queueLimit: 4, ...limits });
    const local = await createInProcessFaceEngine({ backend: 'wasm', ...limits });
    try {
      expect(pool.model).toEqual(local.model);
      const [a, b] = [await pool.analyze(sample(3)), await local.analyze(sample(3))];
      expect(a.sha256).toBe(b.sha256);
      expect(a.faces.length).toBe(b.faces.length);
      a.faces.forEach((f, i) => {
        const g = b.faces[i]!;
        expect(Math.abs(f.box.x - g.box.x)).toBeLessThan(1e-3);
        expect(Math.max(...f.embedding.map((x, j) => Math.abs(x - g.embedding[j]!)))).toBeLessThan(1e-4);
        expect(f.quality).toEqual(g.quality);
      });
    } finally {
      await pool.close();
      await local.close();
    }
  });

  it('rejects at once with OVERLOADED and a Retry-After when the queue is full, and serves the admitted requests', async () => {
    const pool = await createFaceEngine({ backend: 'wasm', workers: 1, queueLimit: 1, ...limits });
    try {
      const results = await Promise.allSettled(Array.from({ length: 5 }, () => pool.analyze(sample(4))));
      const ok = results.filter((r) => r.status === 'fulfilled');
      const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason);
      expect(ok.length).toBe(2);
      expect(rejected).toHaveLength(3);
      for (const e of rejected) {
        expect(e).toMatchObject({ code: 'OVERLOADED', status: 503 });
        expect(Number(e.headers['Retry-After'])).toBeGreaterThanOrEqual(1);
      }
      expect(pool.queueDepth()).toBe(0);
    } finally {
      await pool.close();
    }
  });

  it('surfaces decode errors from the pool engine as 415', async () => {
    const pool = await createFaceEngine({ backend: 'wasm', workers: 1, queueLimit: 1, ...limits });
    try {
      await expect(pool.analyze(Buffer.from('GIF89a not really'))).rejects.toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE', status: 415 });
    } finally {
      await pool.close();
    }
  });
});
