import type { Box, DetectedFace } from '../../shared/face.types';
import { similarityFromCosine } from '../../shared/calibration';

/**
 * Face tracks of a video search: the faces of consecutive sampled frames that are the same person, joined into one track.
 * Greedy association between each frame and the tracks still open: every (track, face) pair is scored by the embedding
 * similarity of the face to the track's last face, plus the overlap (IoU) of their boxes; pairs are taken best first, each
 * track and face once. A pair joins when
 * - the boxes overlap (IoU ≥ `minIou`) and the similarity is at least `linkSimilarity` (the same place, plausibly the same
 *   face: a lenient bar, since pose and blur change between frames), or
 * - whatever the boxes, the similarity is at least `reacquireSimilarity` (a stricter bar: the person moved or the camera cut).
 * Across a scene change (`cut`: the decoder saw one after the previous sampled frame) a box's position says nothing, so
 * there only the strict bar joins: a different face in the same place after a cut opens a track of its own.
 * A face that joins no track opens one. A track whose last face is more than `maxGapSeconds` before a frame is closed.
 */

export interface TrackSettings {
  linkSimilarity: number;
  reacquireSimilarity: number;
  minIou: number;
  maxGapSeconds: number;
}

export interface FrameFaces {
  seconds: number;
  faces: DetectedFace[];
  /** A scene change lies after the previous sampled frame, up to and including this one. */
  cut?: boolean;
}

export interface FaceTrack {
  /** Frame index and face of every member, in time order. */
  members: Array<{ frame: number; seconds: number; face: DetectedFace }>;
  startSeconds: number;
  endSeconds: number;
  /** The member with the best quality (score, then detection score, then box area). */
  best: { frame: number; seconds: number; face: DetectedFace };
}

export function iou(a: Box, b: Box): number {
  const x1 = Math.max(a.x, b.x);
  const y1 = Math.max(a.y, b.y);
  const x2 = Math.min(a.x + a.width, b.x + b.width);
  const y2 = Math.min(a.y + a.height, b.y + b.height);
  const inter = Math.max(0, x2 - x1) * Math.max(0, y2 - y1);
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}

function dot(a: number[], b: number[]): number {
  let s = 0;
  for (let i = 0; i < a.length && i < b.length; i++) s += a[i]! * b[i]!;
  return s;
}

const better = (a: DetectedFace, b: DetectedFace) =>
  a.quality.score !== b.quality.score ? a.quality.score > b.quality.score : a.detectionScore !== b.detectionScore ? a.detectionScore > b.detectionScore : a.box.width * a.box.height > b.box.width * b.box.height;

export function buildTracks(frames: FrameFaces[], s: TrackSettings): FaceTrack[] {
  const tracks: FaceTrack[] = [];
  let open: FaceTrack[] = [];
  for (const [fi, frame] of frames.entries()) {
    // 1 ms of slack: offsets are rounded to milliseconds.
    open = open.filter((t) => frame.seconds - t.members[t.members.length - 1]!.seconds <= s.maxGapSeconds + 1e-3);
    const pairs: Array<{ t: FaceTrack; face: number; score: number }> = [];
    for (const t of open) {
      const last = t.members[t.members.length - 1]!.face;
      for (const [i, f] of frame.faces.entries()) {
        const sim = similarityFromCosine(dot(last.embedding, f.embedding));
        const overlap = iou(last.box, f.box);
        const joins = (!frame.cut && overlap >= s.minIou && sim >= s.linkSimilarity) || sim >= s.reacquireSimilarity;
        if (joins) pairs.push({ t, face: i, score: sim + overlap });
      }
    }
    pairs.sort((a, b) => b.score - a.score);
    const usedTracks = new Set<FaceTrack>();
    const usedFaces = new Set<number>();
    for (const p of pairs) {
      if (usedTracks.has(p.t) || usedFaces.has(p.face)) continue;
      usedTracks.add(p.t);
      usedFaces.add(p.face);
      const face = frame.faces[p.face]!;
      p.t.members.push({ frame: fi, seconds: frame.seconds, face });
      p.t.endSeconds = frame.seconds;
      if (better(face, p.t.best.face)) p.t.best = { frame: fi, seconds: frame.seconds, face };
    }
    for (const [i, face] of frame.faces.entries()) {
      if (usedFaces.has(i)) continue;
      const m = { frame: fi, seconds: frame.seconds, face };
      const t: FaceTrack = { members: [m], startSeconds: frame.seconds, endSeconds: frame.seconds, best: m };
      tracks.push(t);
      open.push(t);
    }
  }
  return tracks;
}
