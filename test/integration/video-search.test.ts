import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import type { Box, FaceEngine } from '../../src/shared/face.types';
import { createFaceEngine } from '../../src/platform/face/face-engine';
import { backends, type TestDb } from '../helpers/databases';
import { startService } from '../helpers/app';
import { sample } from '../helpers/fixtures';
import { decoderPids, faceCrop } from '../helpers/video';
import { encodeClip, hasFfmpeg, lavfiClip, panZoomFrames } from '../../scripts/lib/video-clips';

/**
 * POST /v1/searches/video end to end: clips made by ffmpeg from face-api's demo photos, the real engine, a real database.
 * Two people are enrolled from crops of two demo photos; a clip panning and zooming over one of them must give one track whose
 * top candidate is that person, a clip of both in sequence two tracks, each with its own person on top. Every bad input gets
 * its 4xx and leaves the decoder's temp folder empty. Skipped (with a note) where ffmpeg is not installed.
 */
const FFMPEG = hasFfmpeg();
const describeVideo = FFMPEG ? describe : describe.skip;

let engine: FaceEngine;
/**
 * The decoder's temp folders go here (VIDEO_TEMP_DIR), so the test can see that none is left. (Setting TMPDIR in a test
 * does not reach os.tmpdir(): jest gives each test file its own copy of process.env.)
 */
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'facematch-video-test-'));
const leftovers = () => fs.readdirSync(tmp);
const env = (more: Record<string, string> = {}) => ({ VIDEO_TEMP_DIR: tmp, ...more });

beforeAll(async () => {
  if (FFMPEG) engine = await createFaceEngine({ backend: 'wasm', workers: 1, queueLimit: 16, maxPixels: 50_000_000, maxBytes: 15 * 1024 * 1024 });
});
afterAll(async () => {
  await engine?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function largestFace(photo: Buffer): Promise<Box> {
  const { faces } = await engine.analyze(photo);
  return faces[0]!.box;
}

describeVideo.each(backends())('video search on $name', (backend) => {
  let t: TestDb;
  let svc: Awaited<ReturnType<typeof startService>>;
  let searcher: string;
  let reviewer: string;
  const subject: Record<'a' | 'b', string> = { a: '', b: '' };
  let oneFace: Buffer;
  let twoPeople: Buffer;
  let webmNamedMp4: Buffer;

  beforeAll(async () => {
    t = await backend.open();
    svc = await startService(t.db, { engine, env: env() });
    await svc.startEngine();
    const enroller = (await svc.key(['enroller'], 'fiu')).auth;
    searcher = (await svc.key(['searcher'], 'fiu')).auth;
    reviewer = (await svc.key(['reviewer'], 'fiu')).auth;
    await svc.watchlist('fiu', 'general');
    // Samples 3 and 6: their largest faces are two different people (samples 1 and 3 show the same one).
    const photos = { a: sample(3), b: sample(6) };
    const boxes = { a: await largestFace(photos.a), b: await largestFace(photos.b) };
    for (const k of ['a', 'b'] as const) {
      const s = await request(svc.app).post('/v1/subjects').set('Authorization', enroller).send({ displayName: `Person ${k}`, category: 'fraud', watchlist: 'general', legalBasis: 'test' });
      expect(s.status).toBe(201);
      subject[k] = s.body.id;
      await request(svc.app).post(`/v1/subjects/${s.body.id}/faces`).set('Authorization', enroller).attach('image', await faceCrop(photos[k], boxes[k]), 'face.jpg').expect(201);
    }
    // 4 s at 10 fps: a pan and zoom over person a; then 3 s of a followed by 3 s of b (a cut, the same place in the frame).
    const a = await panZoomFrames(photos.a, boxes.a, 40);
    oneFace = encodeClip(a, 10);
    // Person b's window stays tight (wider, it shows b's neighbours in the group photo: tracks of their own).
    const b = await panZoomFrames(photos.b, boxes.b, 30, { zoom: [1.9, 1.6], pan: -0.4 });
    twoPeople = encodeClip([...(await panZoomFrames(photos.a, boxes.a, 30)), ...b], 10);
    webmNamedMp4 = encodeClip(await panZoomFrames(photos.b, boxes.b, 12, { size: { width: 320, height: 240 }, zoom: [1.9, 1.6] }), 6, 'webm');
  });
  afterAll(() => t?.drop());

  const post = (video: Buffer | null, name = 'clip.mp4', fields: Record<string, string> = {}, auth = searcher, mime = 'video/mp4') => {
    const req = request(svc.app).post('/v1/searches/video').set('Authorization', auth);
    for (const [k, v] of Object.entries({ purpose: 'Card-fraud investigation', caseRef: 'CASE-23', ...fields })) req.field(k, v);
    if (video) req.attach('video', video, { filename: name, contentType: mime });
    return req;
  };

  it('a pan and zoom over one face is one track whose top candidate is that person; the stored search and its chip read as any search', async () => {
    const res = await post(oneFace);
    expect(res.status).toBe(200);
    expect(res.body.video).toMatchObject({ container: expect.stringContaining('mp4'), codec: 'h264', width: 640, height: 480, sampleFps: 2, tracks: 1 });
    expect(res.body.video.framesSampled).toBeGreaterThanOrEqual(7);
    expect(res.body.faces).toHaveLength(1);
    const [track] = res.body.faces;
    expect(track.track.startSeconds).toBe(0);
    expect(track.track.endSeconds).toBeGreaterThanOrEqual(3.5);
    expect(track.track.frames).toBe(res.body.video.framesSampled);
    expect(track.candidates[0]).toMatchObject({ subjectId: subject.a, rank: 1 });
    expect(track.candidates[0].similarity).toBeGreaterThan(track.candidates[1]?.similarity ?? 0);
    expect(track.candidates[0].estimatedFalseMatchRate).toBeLessThan(1e-3);
    expect(res.body).toMatchObject({ humanReviewRequired: true, reviewReasons: expect.arrayContaining(['CANDIDATES_ARE_LEADS_ONLY']), probe: { width: 640, height: 480, facesDetected: 1 } });
    expect(res.body.reviewReasons).not.toContain('MULTIPLE_PROBE_FACES');

    const stored = await request(svc.app).get(`/v1/searches/${res.body.searchId}`).set('Authorization', reviewer);
    expect(stored.status).toBe(200);
    expect(stored.body.faces[0].track).toEqual(track.track);
    expect(stored.body.video).toEqual(res.body.video);
    const chip = await request(svc.app).get(`/v1/searches/${res.body.searchId}/faces/0/image`).set('Authorization', reviewer);
    expect(chip.status).toBe(200);
    expect(chip.headers['content-type']).toBe('image/jpeg');
    const review = await request(svc.app).post(`/v1/searches/${res.body.searchId}/reviews`).set('Authorization', reviewer).send({ faceIndex: 0, subjectId: subject.a, decision: 'confirmed', rationale: 'same person in the chip and the enrolled crop' });
    expect(review.status).toBe(201);
    expect(leftovers()).toEqual([]);
  });

  it('two people in sequence are two tracks in time order, each with its own person on top', async () => {
    const res = await post(twoPeople);
    expect(res.status).toBe(200);
    expect(res.body.faces).toHaveLength(2);
    const [first, second] = res.body.faces;
    expect(first.candidates[0].subjectId).toBe(subject.a);
    expect(second.candidates[0].subjectId).toBe(subject.b);
    expect(first.track.endSeconds).toBeLessThanOrEqual(second.track.startSeconds + 0.5);
    expect(second.track.startSeconds).toBeGreaterThanOrEqual(2.5);
    expect(res.body.reviewReasons).toContain('MULTIPLE_PROBE_FACES');
    expect(leftovers()).toEqual([]);
  });

  describe('scene-change sampling (fixed samples every 0.5 s, plus frames where the picture changes)', () => {
    let cutBetween: Buffer;
    let glimpse: Buffer;
    beforeAll(async () => {
      const photos = { a: sample(3), b: sample(6) };
      const boxes = { a: await largestFace(photos.a), b: await largestFace(photos.b) };
      const a = await panZoomFrames(photos.a, boxes.a, 40);
      const b = await panZoomFrames(photos.b, boxes.b, 40, { zoom: [1.9, 1.6], pan: -0.4 });
      // 10 fps. A hard cut at 2.2 s from a to b, both faces in the middle of the frame: no fixed sample falls on the cut.
      cutBetween = encodeClip([...a.slice(0, 22), ...b.slice(22)], 10);
      // b only from 2.2 to 2.4 s, between the fixed samples at 2.0 and 2.5 s, then a again.
      glimpse = encodeClip([...a.slice(0, 22), ...b.slice(22, 24), ...a.slice(24)], 10);
    });

    it('a hard cut between two people in the same place is two tracks, the second from the cut (a scene sample), not joined across it', async () => {
      const res = await post(cutBetween);
      expect(res.status).toBe(200);
      expect(res.body.video.sceneFrames).toBeGreaterThanOrEqual(1);
      expect(res.body.video.framesSampled).toBe(8 + res.body.video.sceneFrames);
      expect(res.body.faces).toHaveLength(2);
      const [first, second] = res.body.faces;
      expect(first.candidates[0].subjectId).toBe(subject.a);
      expect(second.candidates[0].subjectId).toBe(subject.b);
      expect(first.track.startSeconds).toBe(0);
      expect(second.track.startSeconds).toBeCloseTo(2.2, 2);
      // a's last frame is the fixed sample at 2.0 s: nothing after the cut joined a's track.
      expect(first.track.endSeconds).toBeCloseTo(2.5, 2);
      expect(leftovers()).toEqual([]);
    });

    it('a person shown only between two fixed sample instants is found by scene sampling, and missed without it', async () => {
      const res = await post(glimpse);
      expect(res.status).toBe(200);
      const tops = res.body.faces.map((f: { candidates: Array<{ subjectId: string }> }) => f.candidates[0]?.subjectId);
      expect(tops).toContain(subject.b);
      const bTrack = res.body.faces[tops.indexOf(subject.b)];
      expect(bTrack.track.startSeconds).toBeCloseTo(2.2, 2);
      expect(bTrack.track.bestFrameSeconds).toBeLessThan(2.4);
      // a is one track across both cuts (the same face clears the strict bar after a cut).
      expect(tops.filter((x: string) => x === subject.a)).toHaveLength(1);

      const fixedOnly = await startService(t.db, { engine, migrateFirst: false, env: env({ VIDEO_SCENE_MAX_FRAMES: '0' }) });
      await fixedOnly.startEngine();
      const without = await request(fixedOnly.app).post('/v1/searches/video').set('Authorization', searcher).field('purpose', 'Card-fraud investigation').field('caseRef', 'CASE-23').attach('video', glimpse, 'clip.mp4');
      expect(without.status).toBe(200);
      expect(without.body.video).toMatchObject({ sceneFrames: 0, framesSampled: 8 });
      expect(without.body.faces.map((f: { candidates: Array<{ subjectId: string }> }) => f.candidates[0]?.subjectId)).toEqual([subject.a]);
      expect(leftovers()).toEqual([]);
    });
  });

  it('a variable-frame-rate clip is sampled by time: one track over its whole duration', async () => {
    const vfr = encodeClip(await panZoomFrames(sample(3), await largestFace(sample(3)), 30, { size: { width: 320, height: 240 } }), 10, 'mp4', true);
    const res = await post(vfr);
    expect(res.status).toBe(200);
    // 15 frames at 0.1 s, then 15 at 0.3 s: 1.5 + 4.5 = 6 s.
    expect(res.body.video.durationSeconds).toBeGreaterThan(5.5);
    expect(res.body.video.framesSampled).toBeGreaterThanOrEqual(11);
    expect(res.body.faces).toHaveLength(1);
    expect(res.body.faces[0].track.endSeconds).toBeGreaterThan(5);
    expect(res.body.faces[0].candidates[0].subjectId).toBe(subject.a);
  });

  it('WebM content under an .mp4 name is read by its content', async () => {
    const res = await post(webmNamedMp4, 'phone.mp4');
    expect(res.status).toBe(200);
    expect(res.body.video).toMatchObject({ container: expect.stringContaining('webm'), codec: 'vp8', width: 320, height: 240 });
    expect(res.body.faces[0].candidates[0].subjectId).toBe(subject.b);
  });

  it('the purpose policy and roles hold as for a still search', async () => {
    expect((await post(oneFace, 'clip.mp4', { purpose: '' })).body.error.code).toBe('PURPOSE_REQUIRED');
    expect((await post(oneFace, 'clip.mp4', { caseRef: '' })).body.error.code).toBe('CASE_REF_REQUIRED');
    const denied = await post(oneFace, 'clip.mp4', {}, reviewer);
    expect(denied.status).toBe(403);
  });

  describe('bad input: a clear 4xx each, nothing left in the temp folder', () => {
    const cases: Array<[string, number, string, () => Buffer | null]> = [
      ['no file', 400, 'VALIDATION_FAILED', () => null],
      ['zero-length', 400, 'VALIDATION_FAILED', () => Buffer.alloc(0)],
      ['random bytes sent as video/mp4', 415, 'UNSUPPORTED_MEDIA_TYPE', () => Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 2654435761) >>> 24))],
      ['truncated (the first half of an MP4)', 415, 'UNSUPPORTED_MEDIA_TYPE', () => oneFace.subarray(0, Math.floor(oneFace.length / 2))],
      ['a JPEG photo sent as video/mp4', 415, 'UNSUPPORTED_MEDIA_TYPE', () => sample(2)],
      ['audio only (AAC in M4A)', 422, 'VIDEO_NO_VIDEO_STREAM', () => lavfiClip(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=2', '-c:a', 'aac'], 'm4a')],
      ['huge resolution (4096×2304 > VIDEO_MAX_PIXELS)', 422, 'VIDEO_TOO_LARGE', () => lavfiClip(['-f', 'lavfi', '-i', 'color=c=gray:s=4096x2304:r=1:d=1', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'], 'mp4')],
      ['too long (400 s > VIDEO_MAX_SECONDS)', 422, 'VIDEO_TOO_LONG', () => lavfiClip(['-f', 'lavfi', '-i', 'color=c=gray:s=160x120:r=1:d=400', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'], 'mp4')],
      ['no face in any frame', 422, 'NO_FACE', () => lavfiClip(['-f', 'lavfi', '-i', 'testsrc=s=320x240:r=5:d=2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'], 'mp4')],
    ];
    it.each(cases)('%s → %i %s', async (_name, status, code, make) => {
      const res = await post(make());
      expect({ status: res.status, code: res.body.error?.code }).toEqual({ status, code });
      expect(leftovers()).toEqual([]);
    });

    it('a corrupt stream (an MP4 whose video data is overwritten) → 422 VIDEO_UNPROCESSABLE', async () => {
      const faststart = lavfiClip(['-f', 'lavfi', '-i', 'testsrc=s=320x240:r=10:d=3', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-movflags', '+faststart'], 'mp4');
      const corrupt = Buffer.from(faststart);
      const mdat = corrupt.indexOf('mdat');
      for (let i = mdat + 64; i < corrupt.length; i++) corrupt[i] = (i * 2654435761) >>> 24;
      const res = await post(corrupt);
      expect({ status: res.status, code: res.body.error?.code }).toEqual({ status: 422, code: 'VIDEO_UNPROCESSABLE' });
      expect(leftovers()).toEqual([]);
    });

    it('over VIDEO_MAX_BYTES → 413 naming that limit', async () => {
      const small = await startService(t.db, { engine, migrateFirst: false, env: env({ VIDEO_MAX_BYTES: '4096' }) });
      await small.startEngine();
      const res = await request(small.app).post('/v1/searches/video').set('Authorization', searcher).field('purpose', 'p').field('caseRef', 'c').attach('video', oneFace, 'clip.mp4');
      expect(res.status).toBe(413);
      expect(res.body.error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', details: { limitBytes: 4096 } });
    });

    it('refused clips are audited as search.failed with the clip hash only', async () => {
      await post(Buffer.from('not a video at all, just text'));
      const admin = (await svc.key(['auditor'], '*')).auth;
      const events = await request(svc.app).get('/v1/audit/events?type=search.failed&limit=200').set('Authorization', admin);
      expect(events.status).toBe(200);
      const codes = events.body.items.map((e: { payload: { code: string; video?: boolean } }) => e.payload.video && e.payload.code);
      expect(codes).toEqual(expect.arrayContaining(['UNSUPPORTED_MEDIA_TYPE', 'VIDEO_NO_VIDEO_STREAM', 'VIDEO_TOO_LONG']));
    });
  });

  describe('the decoder process is bounded', () => {
    const onLinux = fs.existsSync('/proc/self/cmdline') ? it : it.skip;

    it('a memory limit too small for the decoder → 422 VIDEO_MEMORY_LIMIT naming the limit, nothing left in the temp folder', async () => {
      const tight = await startService(t.db, { engine, migrateFirst: false, env: env({ VIDEO_DECODE_MEMORY_MB: '16' }) });
      await tight.startEngine();
      const res = await request(tight.app).post('/v1/searches/video').set('Authorization', searcher).field('purpose', 'Card-fraud investigation').field('caseRef', 'CASE-23').attach('video', oneFace, 'clip.mp4');
      expect(res.status).toBe(422);
      expect(res.body.error).toMatchObject({ code: 'VIDEO_MEMORY_LIMIT', details: { limitBytes: 16 * 1024 * 1024 } });
      expect(leftovers()).toEqual([]);
    });

    onLinux('a deadline that expires mid-decode → 422 VIDEO_DECODE_TIMEOUT; the ffmpeg process is killed and the temp folder removed', async () => {
      // 290 s of 25 fps: ffmpeg is still decoding when it is found, and is then paused (SIGSTOP), so it cannot finish within
      // the 5 s deadline however fast the machine is; the deadline's SIGKILL ends it.
      const long = lavfiClip(['-f', 'lavfi', '-i', 'testsrc=s=640x360:r=25:d=290', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'], 'mp4');
      const slow = await startService(t.db, { engine, migrateFirst: false, env: env({ VIDEO_DECODE_TIMEOUT_MS: '5000' }) });
      await slow.startEngine();
      const pending = request(slow.app).post('/v1/searches/video').set('Authorization', searcher).field('purpose', 'Card-fraud investigation').field('caseRef', 'CASE-23').attach('video', long, 'long.mp4').then((r) => r);
      let settled = false;
      void pending.then(() => (settled = true));
      let pid: number | undefined;
      while (!settled && pid === undefined) {
        pid = decoderPids()[0];
        if (pid === undefined) await new Promise((r) => setTimeout(r, 5));
      }
      if (pid === undefined) throw new Error(`no ffmpeg of this test was seen running; the answer: ${JSON.stringify((await pending).body)}`);
      let paused = false;
      try {
        process.kill(pid!, 'SIGSTOP');
        paused = true;
      } catch {
        // Already killed by the deadline: what follows holds as well.
      }
      // While its ffmpeg is stopped the decode's folder exists where the checks look (so their empty answers mean something).
      // The folder is removed only after the child has exited, so a listing taken between two "stopped" readings must hold it.
      const stopped = () => {
        try {
          return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('T') ?? false;
        } catch {
          return false;
        }
      };
      for (let i = 0; paused && !stopped() && i < 200; i++) await new Promise((r) => setTimeout(r, 5));
      if (stopped()) {
        const seen = leftovers();
        if (stopped()) expect(seen).toEqual([expect.stringMatching(/^facematch-video-/)]);
      }
      const res = await pending;
      expect(res.status).toBe(422);
      expect(res.body.error).toMatchObject({ code: 'VIDEO_DECODE_TIMEOUT', details: { timeoutMs: 5000 } });
      expect(fs.existsSync(`/proc/${pid}`)).toBe(false);
      expect(decoderPids()).toEqual([]);
      expect(leftovers()).toEqual([]);
    });
  });

  it('without a decoder the route answers 501 DECODER_UNAVAILABLE and still searches work', async () => {
    const none = await startService(t.db, { engine, migrateFirst: false, env: env({ FFMPEG_PATH: '/nonexistent/ffmpeg' }) });
    await none.startEngine();
    const res = await request(none.app).post('/v1/searches/video').set('Authorization', searcher).field('purpose', 'p').field('caseRef', 'c').attach('video', oneFace, 'clip.mp4');
    expect(res.status).toBe(501);
    expect(res.body.error.code).toBe('DECODER_UNAVAILABLE');
    const still = await request(none.app).post('/v1/searches').set('Authorization', searcher).field('purpose', 'p').field('caseRef', 'c').attach('image', sample(3), 'p.jpg');
    expect(still.status).toBe(200);
  });
});
