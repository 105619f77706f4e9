/** Plain data shapes between the video decoder (platform/video) and the domain (search module's video search). */

export interface VideoInfo {
  /** ffprobe's format names, e.g. `mov,mp4,m4a,3gp,3g2,mj2` or `matroska,webm`. */
  container: string;
  codec: string;
  width: number;
  height: number;
  /** null when the container states none (a live WebM recording); decoding still stops at VIDEO_MAX_SECONDS. */
  durationSeconds: number | null;
}

export interface VideoFrame {
  /** Offset of the sampled frame from the start of the clip. */
  seconds: number;
  /** A scene change (VIDEO_SCENE_THRESHOLD) lies after the previous sampled frame, up to and including this one. */
  sceneChange: boolean;
  /** `fixed`: one of the VIDEO_SAMPLE_FPS samples; `scene`: sampled because the scene changed there. */
  sampledAt: 'fixed' | 'scene';
  jpeg: Buffer;
}

export interface VideoFrames {
  info: VideoInfo;
  sampleFps: number;
  /** Frames sampled at scene changes (at most VIDEO_SCENE_MAX_FRAMES), included in `frames`. */
  sceneFrames: number;
  /** Fixed and scene samples in time order. */
  frames: VideoFrame[];
}

export interface VideoDecoder {
  /** e.g. `ffmpeg 5.1.6-0+deb12u1`. */
  readonly name: string;
  readonly limits: { maxSeconds: number; maxPixels: number; sampleFps: number };
  /** Probes and checks the limits only (a video job's clip, refused at submission for what would refuse its search). */
  probe(video: Buffer): Promise<VideoInfo>;
  /** Probes, checks the limits and samples the frames; throws the API errors (4xx) a client can act on. */
  frames(video: Buffer): Promise<VideoFrames>;
}
