import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  NoVideoStreamError,
  UnsupportedMediaTypeError,
  ValidationError,
  VideoDecodeTimeoutError,
  VideoMemoryLimitError,
  VideoTooLargeError,
  VideoTooLongError,
  VideoUnprocessableError,
} from '../../shared/errors';
import type { VideoDecoder, VideoFrames, VideoInfo } from '../../shared/video.types';

/**
 * The video decoder: Debian's (or any) `ffprobe` and `ffmpeg` run as child processes, never in this process. Each clip is
 * written to a fresh mkdtemp folder, probed (container, codec, duration, resolution against the limits), then decoded to JPEG
 * frames scaled to at most `frameMaxSide` pixels a side, in one ffmpeg run with two outputs:
 * - fixed samples: the first frame at or after each multiple of 1/`sampleFps` s, at most `maxSeconds × sampleFps` of them;
 * - scene samples: frames whose scene score (ffmpeg `select`'s `scene`, 0 … 1, the change from the previous frame) is above
 *   `sceneThreshold`, at most `sceneMaxFrames` of them (0: none), so a person shown between two fixed instants is seen too.
 * Both outputs print each frame's timestamp (the `metadata` filter) so frames are placed by the clip's own time; a scene
 * change between two sampled frames marks the later one `sceneChange` (the tracker does not carry a face across it on
 * position alone). Each process runs under `prlimit --as=memoryBytes` (an address-space limit; 0: none) and both are killed
 * (SIGKILL) after `timeoutMs` in all; their stderr is kept to a few KiB (never logged: it may name stream metadata). The
 * folder is removed whatever happens.
 */

export interface DecoderLimits {
  maxSeconds: number;
  maxPixels: number;
  sampleFps: number;
  frameMaxSide: number;
  timeoutMs: number;
  /** Scene score (0 … 1) above which a frame is sampled as a scene change. */
  sceneThreshold: number;
  /** Scene-change frames sampled per clip at most; 0 turns scene sampling off. */
  sceneMaxFrames: number;
  /** Address-space limit of each decoder process in bytes (RLIMIT_AS, set by prlimit); 0: no limit. */
  memoryBytes: number;
}

/** Containers (ffprobe format names) and video codecs accepted: MP4 / MOV / 3GP, Matroska / WebM. */
const CONTAINERS = ['mov', 'mp4', 'm4a', '3gp', '3g2', 'mj2', 'matroska', 'webm'];
const CODECS = ['h264', 'hevc', 'vp8', 'vp9', 'av1', 'mpeg4', 'mjpeg'];
const STDERR_KEEP = 4096;

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  timedOut: boolean;
}

/**
 * Runs one executable with no shell, stdin closed, stdout capped at `maxStdout` bytes, killed at `deadline` (epoch ms). With
 * `limit`, it runs as `prlimit --as=<bytes> -- exe args…`: prlimit sets RLIMIT_AS on itself and execs the executable in the
 * same process, so the kill reaches the decoder itself.
 */
function run(exe: string, args: string[], deadline: number, opts: { maxStdout?: number; cwd?: string; limit?: { prlimitPath: string; bytes: number } } = {}): Promise<RunResult> {
  const maxStdout = opts.maxStdout ?? 1024 * 1024;
  const [file, argv] = opts.limit && opts.limit.bytes > 0 ? [opts.limit.prlimitPath, [`--as=${opts.limit.bytes}`, '--', exe, ...args]] : [exe, args];
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], shell: false, windowsHide: true, cwd: opts.cwd });
    const out: Buffer[] = [];
    let outBytes = 0;
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, Math.max(1, deadline - Date.now()));
    child.stdout.on('data', (b: Buffer) => {
      outBytes += b.length;
      if (outBytes > maxStdout) child.kill('SIGKILL');
      else out.push(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      if (stderr.length < STDERR_KEEP) stderr += b.toString('utf8').slice(0, STDERR_KEEP - stderr.length);
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out), stderr, timedOut });
    });
  });
}

const num = (v: unknown): number | null => {
  const n = typeof v === 'string' ? Number(v) : typeof v === 'number' ? v : NaN;
  return Number.isFinite(n) ? n : null;
};

interface ProbeJson {
  format?: { format_name?: string; duration?: string };
  streams?: Array<{ codec_type?: string; codec_name?: string; width?: number; height?: number; duration?: string; disposition?: { attached_pic?: number } }>;
}

/** ffprobe's answer checked against the limits; throws the API error a client can act on. */
export function checkProbe(j: ProbeJson, limits: Pick<DecoderLimits, 'maxSeconds' | 'maxPixels'>): VideoInfo {
  const formats = (j.format?.format_name ?? '').split(',').filter(Boolean);
  if (!formats.some((f) => CONTAINERS.includes(f))) {
    throw new UnsupportedMediaTypeError(`The upload is not a video container this service reads (MP4, MOV, 3GP, Matroska, WebM)${formats.length ? `; it probed as ${formats[0]}` : ''}.`);
  }
  // Cover art of an audio file is a one-picture "video" stream flagged attached_pic: not a video.
  const video = (j.streams ?? []).find((s) => s.codec_type === 'video' && s.disposition?.attached_pic !== 1);
  if (!video) throw new NoVideoStreamError();
  const codec = video.codec_name ?? 'unknown';
  if (!CODECS.includes(codec)) throw new UnsupportedMediaTypeError(`The video codec ${codec} is not one this service decodes (H.264, HEVC, VP8, VP9, AV1, MPEG-4).`);
  const width = video.width ?? 0;
  const height = video.height ?? 0;
  if (width <= 0 || height <= 0) throw new VideoUnprocessableError('The video stream states no frame size.');
  if (width * height > limits.maxPixels) throw new VideoTooLargeError(width, height, limits.maxPixels);
  const duration = num(j.format?.duration) ?? num(video.duration);
  if (duration !== null && duration > limits.maxSeconds) throw new VideoTooLongError(duration, limits.maxSeconds);
  return { container: formats.join(','), codec, width, height, durationSeconds: duration };
}

/**
 * A failure the address-space limit explains: the dynamic loader could not map ffmpeg's libraries, an allocation failed
 * (ENOMEM, -12), a frame buffer or encoder thread could not be set up (ffmpeg names no cause there; the output encoder and its
 * options are fixed, so memory is what fails), or the process died of a signal allocation failures end in.
 */
const MEMORY_FAILURE = /failed to map segment|cannot allocate memory|out of memory|\(-12\b|error code: -12|get_buffer\(\) failed|thread_encoder_init failed|error while opening encoder|bad_alloc/i;
export function isMemoryFailure(r: Pick<RunResult, 'code' | 'signal' | 'stderr'>): boolean {
  return MEMORY_FAILURE.test(r.stderr) || r.signal === 'SIGSEGV' || r.signal === 'SIGABRT' || r.signal === 'SIGBUS';
}

/** The `frame:… pts:… pts_time:…` lines of a `metadata=print:file=` log: each printed frame's timestamp in seconds. */
export function parseFrameTimes(log: string): number[] {
  const out: number[] = [];
  for (const m of log.matchAll(/^frame:\s*\d+\s+pts:\s*(-?\d+)\s+pts_time:\s*(-?[\d.eE+-]+)/gm)) {
    const t = Number(m[2]);
    if (Number.isFinite(t)) out.push(t);
  }
  return out;
}

export interface SampledTimes {
  /** Seconds from the first frame of each fixed sample, in order (the i-th is the i-th frame file). */
  fixed: number[];
  /** The same for the scene samples written (at most sceneMaxFrames). */
  scene: number[];
  /** Every scene change seen (also past sceneMaxFrames), in seconds from the first frame. */
  changes: number[];
}

/**
 * The sampled frames in time order: fixed and scene samples merged (a scene sample at a fixed sample's timestamp is that
 * frame, kept once), each marked `sceneChange` when a scene change lies after the previous sampled frame, up to and
 * including this one.
 */
export function mergeSamples(t: SampledTimes): Array<{ seconds: number; source: 'fixed' | 'scene'; index: number; sceneChange: boolean }> {
  const key = (x: number) => Math.round(x * 1e6);
  const fixedAt = new Set(t.fixed.map(key));
  const all = [
    ...t.fixed.map((seconds, index) => ({ seconds, source: 'fixed' as const, index })),
    ...t.scene.flatMap((seconds, index) => (fixedAt.has(key(seconds)) ? [] : [{ seconds, source: 'scene' as const, index }])),
  ].sort((a, b) => a.seconds - b.seconds);
  const changes = [...t.changes].sort((a, b) => a - b);
  let c = 0;
  return all.map((f, i) => {
    const prev = i > 0 ? all[i - 1]!.seconds : -Infinity;
    while (c < changes.length && changes[c]! <= prev + 1e-6) c++;
    return { ...f, sceneChange: i > 0 && c < changes.length && changes[c]! <= f.seconds + 1e-6 };
  });
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/**
 * The decoder if both executables answer `-version` within a few seconds (and prlimit does, when a memory limit is set), else
 * null (the video route then answers 501).
 */
export async function detectDecoder(opts: { ffmpegPath: string; ffprobePath: string; prlimitPath?: string; tempDir?: string; limits: DecoderLimits }): Promise<VideoDecoder | null> {
  try {
    const deadline = Date.now() + 10_000;
    const prlimitPath = opts.prlimitPath ?? 'prlimit';
    const [a, b, c] = await Promise.all([
      run(opts.ffmpegPath, ['-hide_banner', '-version'], deadline),
      run(opts.ffprobePath, ['-hide_banner', '-version'], deadline),
      opts.limits.memoryBytes > 0 ? run(prlimitPath, ['--version'], deadline) : Promise.resolve({ code: 0 }),
    ]);
    if (a.code !== 0 || b.code !== 0 || c.code !== 0) return null;
    const version = /version (\S+)/.exec(a.stdout.toString('utf8'))?.[1] ?? 'unknown';
    return createFfmpegDecoder({ ...opts, prlimitPath, version });
  } catch {
    return null;
  }
}

export function createFfmpegDecoder(opts: { ffmpegPath: string; ffprobePath: string; prlimitPath?: string; tempDir?: string; limits: DecoderLimits; version?: string }): VideoDecoder {
  const { limits } = opts;
  const maxFrames = Math.max(1, Math.ceil(limits.maxSeconds * limits.sampleFps));
  const limit = limits.memoryBytes > 0 ? { prlimitPath: opts.prlimitPath ?? 'prlimit', bytes: limits.memoryBytes } : undefined;
  const side = limits.frameMaxSide;
  const scale = `scale=w='min(iw,${side})':h='min(ih,${side})':force_original_aspect_ratio=decrease`;
  const F = limits.sampleFps;
  // The first frame, then the first frame of each new 1/F-second slot of the clip's own time (variable frame rates included).
  const fixed = `select='isnan(prev_t)+gt(floor((t-start_t)*${F}),floor((prev_t-start_t)*${F}))',metadata=add:key=facematch.sample:value=fixed,metadata=print:file=fixed.txt,${scale}`;
  const scene = `select='gt(scene,${limits.sceneThreshold})',metadata=print:file=scene.txt,${scale}`;
  const image = (n: number, pattern: string) => ['-an', '-sn', '-dn', '-fps_mode', 'vfr', '-frames:v', String(n), '-threads', '1', '-q:v', '3', '-f', 'image2', pattern];
  const outputs = limits.sceneMaxFrames > 0
    ? ['-filter_complex', `[0:v:0]split=2[f][s];[f]${fixed}[fo];[s]${scene}[so]`, '-map', '[fo]', ...image(maxFrames, 'frame-%06d.jpg'), '-map', '[so]', ...image(limits.sceneMaxFrames, 'scene-%06d.jpg')]
    : ['-filter_complex', `[0:v:0]${fixed}[fo]`, '-map', '[fo]', ...image(maxFrames, 'frame-%06d.jpg')];
  const readLog = (p: string) => readFile(p, 'utf8').then((t) => t.slice(0, 8 * 1024 * 1024), () => '');

  /** ffprobe on the clip's file: its container, stream and size, checked against the limits (the API's 4xx errors). */
  async function probeFile(input: string, deadline: number): Promise<VideoInfo> {
    const probe = await run(opts.ffprobePath, ['-v', 'error', '-hide_banner', '-print_format', 'json', '-show_format', '-show_streams', input], deadline, { limit });
    if (probe.timedOut) throw new VideoDecodeTimeoutError(limits.timeoutMs);
    if (probe.code !== 0 && limit && isMemoryFailure(probe)) throw new VideoMemoryLimitError(limit.bytes);
    if (probe.code !== 0) throw new UnsupportedMediaTypeError('The upload is not a decodable video (MP4, MOV, WebM): the container could not be read (truncated or corrupt?).');
    let parsed: ProbeJson;
    try {
      parsed = JSON.parse(probe.stdout.toString('utf8')) as ProbeJson;
    } catch {
      throw new UnsupportedMediaTypeError('The upload is not a decodable video (MP4, MOV, WebM).');
    }
    return checkProbe(parsed, limits);
  }

  /** The clip written to a temporary folder of its own (owner-only), `fn` run on it, the folder removed whatever happens. */
  async function withClip<T>(video: Buffer, fn: (input: string, dir: string) => Promise<T>): Promise<T> {
    if (video.length === 0) throw new ValidationError('The uploaded `video` file is empty (0 bytes).', [{ path: 'video', message: 'the file is empty' }]);
    const dir = await mkdtemp(path.join(opts.tempDir ?? tmpdir(), 'facematch-video-'));
    try {
      const input = path.join(dir, 'input');
      await writeFile(input, video, { mode: 0o600 });
      return await fn(input, dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  return {
    name: `ffmpeg ${opts.version ?? ''}`.trim(),
    limits: { maxSeconds: limits.maxSeconds, maxPixels: limits.maxPixels, sampleFps: limits.sampleFps },

    probe: (video: Buffer) => withClip(video, (input) => probeFile(input, Date.now() + limits.timeoutMs)),

    frames: (video: Buffer): Promise<VideoFrames> =>
      withClip(video, async (input, dir) => {
        const deadline = Date.now() + limits.timeoutMs;
        const info = await probeFile(input, deadline);
        // Relative output names (cwd = the folder): the metadata filter's file= needs no escaping of the folder's path.
        const args = ['-nostdin', '-hide_banner', '-v', 'error', '-xerror', '-threads', '2', '-t', String(limits.maxSeconds), '-i', input, ...outputs];
        const dec = await run(opts.ffmpegPath, args, deadline, { maxStdout: 64 * 1024, cwd: dir, limit });
        if (dec.timedOut) throw new VideoDecodeTimeoutError(limits.timeoutMs);
        if (dec.code !== 0 && limit && isMemoryFailure(dec)) throw new VideoMemoryLimitError(limit.bytes);
        if (dec.code !== 0) throw new VideoUnprocessableError('The clip could not be decoded (corrupt or truncated video data).');
        const names = await readdir(dir);
        const files = (prefix: string) => names.filter((n) => n.startsWith(prefix)).sort();
        const fixedFiles = files('frame-');
        const sceneFiles = files('scene-');
        if (fixedFiles.length === 0) throw new VideoUnprocessableError('The clip decoded to no frame.');
        const fixedTimes = parseFrameTimes(await readLog(path.join(dir, 'fixed.txt')));
        const sceneTimes = parseFrameTimes(await readLog(path.join(dir, 'scene.txt')));
        // Times from the clip's first frame (the first fixed sample); a frame file without a logged time is not used.
        const origin = fixedTimes[0] ?? 0;
        const rel = (xs: number[]) => xs.map((x) => round3(x - origin));
        const merged = mergeSamples({
          fixed: rel(fixedTimes.slice(0, fixedFiles.length)),
          scene: rel(sceneTimes.slice(0, Math.min(sceneFiles.length, limits.sceneMaxFrames))),
          changes: rel(sceneTimes.slice(0, 100_000)),
        });
        const frames = [];
        for (const m of merged) {
          const file = (m.source === 'fixed' ? fixedFiles : sceneFiles)[m.index]!;
          frames.push({ seconds: m.seconds, sceneChange: m.sceneChange, sampledAt: m.source, jpeg: await readFile(path.join(dir, file)) });
        }
        return { info, sampleFps: limits.sampleFps, sceneFrames: frames.filter((f) => f.sampledAt === 'scene').length, frames };
      }),
  };
}
