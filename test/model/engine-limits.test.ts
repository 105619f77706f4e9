import sharp from 'sharp';
import request from 'supertest';
import { createFaceEngine } from '../../src/platform/face/face-engine';
import { startService } from '../helpers/app';
import { backends, type TestDb } from '../helpers/databases';
import { sample } from '../helpers/fixtures';
import { hostileCanvases } from '../../scripts/lib/hostile-canvases';

/**
 * Bounded memory for any image within the limits (issue 10, point 4), through the API with the real worker-pool engine:
 * hostile canvases answer 200 or a 4xx with an API.md code, the process's resident memory grows by less than 300 MB while
 * each is analysed, and a normal search succeeds afterwards. (Before the ONNX engine, the 8000x300 JPEG raised RSS by 3.5 GB,
 * answered 500 and left every worker unable to analyse.) No timing is asserted.
 */
const limits = { maxPixels: 50_000_000, maxBytes: 15 * 1024 * 1024 };
const MB = 1024 * 1024;

/** Peak RSS while `work` runs, sampled every 5 ms (a sampled peak can only under-state, never invent, growth). */
async function peakRss<T>(work: () => Promise<T>): Promise<{ result: T; peak: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 5);
  try {
    const result = await work();
    return { result, peak: Math.max(peak, process.memoryUsage().rss) };
  } finally {
    clearInterval(timer);
  }
}

describe('engine limits: hostile canvases through the API', () => {
  let t: TestDb;
  let svc: Awaited<ReturnType<typeof startService>>;
  let searcher: string;
  beforeAll(async () => {
    t = await backends()[0]!.open();
    // The service's own engine (worker pool, metrics observers), as `npm start` composes it.
    svc = await startService(t.db, { env: { FACE_WORKERS: '1', MAX_IMAGE_PIXELS: String(limits.maxPixels) } });
    await svc.startEngine();
    searcher = (await svc.key(['searcher'], 'bank-a')).auth;
  });
  afterAll(async () => {
    await svc?.close();
    await t?.drop();
  });

  const search = (img: Buffer) =>
    request(svc.app).post('/v1/searches').set('Authorization', searcher).field('purpose', 'limits test').field('caseRef', 'LIMITS-1').attach('image', img, 'probe.bin');

  it('answers every hostile canvas with 200 or a documented 4xx, RSS growing < 300 MB each, then still finds faces', async () => {
    const images = await hostileCanvases(sample(2));
    // One normal search first so every lazily allocated arena exists before the baseline.
    expect((await search(sample(3))).status).toBe(200);
    for (const [name, img] of images) {
      const before = process.memoryUsage().rss;
      const { result: res, peak } = await peakRss(() => search(img));
      const outcome = { name, status: res.status, code: res.body?.error?.code as string | undefined };
      expect([200, 413, 415, 422]).toContain(res.status);
      if (res.status !== 200) expect(['NO_FACE', 'IMAGE_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'PAYLOAD_TOO_LARGE']).toContain(outcome.code);
      expect({ name, growthMb: Math.round((peak - before) / MB) < 300 }).toEqual({ name, growthMb: true });
    }
    const after = await search(sample(3));
    expect(after.status).toBe(200);
    expect(after.body.faces.length).toBeGreaterThanOrEqual(2);
  });

  it('observes every inference stage in /metrics', async () => {
    expect((await search(sample(4))).status).toBe(200);
    const text = (await request(svc.app).get('/metrics')).text;
    for (const stage of ['decode', 'detect', 'landmarks', 'align', 'embed']) {
      const m = text.match(new RegExp(`facematch_inference_seconds_count\\{stage="${stage}"\\} (\\d+)`));
      expect({ stage, observed: Number(m?.[1] ?? 0) > 0 }).toEqual({ stage, observed: true });
    }
  });

  it('refuses a canvas whose header declares more than MAX_IMAGE_PIXELS before decoding it', async () => {
    const big = await sharp({ create: { width: 10_000, height: 6_000, channels: 3, background: { r: 1, g: 2, b: 3 } } }).jpeg().toBuffer();
    const res = await search(big);
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('IMAGE_TOO_LARGE');
  });
});

describe('engine limits: a worker that overruns its time', () => {
  it('is stopped and replaced; its request gets IMAGE_UNPROCESSABLE and the pool keeps answering', async () => {
    const restarts: string[] = [];
    // 1 ms is far below any analysis of a 1920 px photo (tens of ms of detector runs alone), so every job overruns.
    const engine = await createFaceEngine({ backend: 'wasm', workers: 1, queueLimit: 2, jobTimeoutMs: 1, observe: { workerRestart: (r) => restarts.push(r) }, ...limits });
    try {
      await expect(engine.analyze(sample(1))).rejects.toMatchObject({ code: 'IMAGE_UNPROCESSABLE', status: 422 });
      expect(restarts).toEqual(['timeout']);
      // The replacement worker is started; the next request is answered by it (and overruns the same way), not left hanging.
      await expect(engine.analyze(sample(2))).rejects.toMatchObject({ code: 'IMAGE_UNPROCESSABLE' });
      expect(restarts).toEqual(['timeout', 'timeout']);
    } finally {
      await engine.close();
    }
  });
});
