import type { Box, DetectionDetail } from '../../shared/face.types';

/**
 * Where a fixed-input detector (UltraFace: 320x240) looks in an image of any size. Pure geometry, unit-tested.
 *
 * Level 0 is the whole image fitted into one detector input (letterboxed: aspect kept, the rest mid-grey). A face must cover
 * about `reliableMinFacePx` input pixels to be found, so in a 1920 px photo level 0 finds only faces above ~120 px. Each further
 * level doubles the scale and covers the scaled image with overlapping detector-sized tiles, until faces of `minFacePx` image
 * pixels reach the detector's reliable size (smaller faces are not worth searching: too few pixels to identify). A face of up to
 * `overlap` of a tile always lies whole inside one tile; a larger one is found whole at the coarser level, so detections that
 * touch an inner tile edge (cut faces) are dropped and the rest merged by non-maximum suppression.
 *
 * Coarse to fine (refineDetection): level 0 always runs; the finer levels run only where they can find something — every
 * tile when the caller asks for small faces (`detail: 'small-faces'`) or when level 0 found no face at all, otherwise only the
 * tiles holding a hint (a face-shaped level-0 candidate below the accepted score and below the size level 0 finds reliably),
 * and none when there is no hint. A photo whose faces level 0 finds costs one detector run instead of up to `maxRuns`.
 */
export interface DetectionPlanOptions {
  inputWidth: number;
  inputHeight: number;
  /** Face side (input pixels) the detector finds reliably. */
  reliableMinFacePx: number;
  /** Smallest face side (image pixels) the plan must reach. */
  minFacePx: number;
  /** Fraction of a tile shared with its neighbour. */
  overlap: number;
  /** Upper bound on detector runs per image (whole levels are dropped from the finest end to stay within it). */
  maxRuns: number;
  /**
   * A net that takes any input size (YuNet): level 0 fits the image into the input in either orientation and never enlarges
   * it (the window is the level's own size). Otherwise level 0 fits it into the fixed input as given, enlarging a small one.
   */
  anyInputSize?: boolean;
}

export interface Tile {
  /** Top-left corner in the level's (scaled) image pixels. */
  x: number;
  y: number;
}

export interface DetectionLevel {
  /** Level pixels per image pixel. */
  scale: number;
  /** Size of the whole image at this level. */
  width: number;
  height: number;
  tiles: Tile[];
}

export const DEFAULT_PLAN: Omit<DetectionPlanOptions, 'inputWidth' | 'inputHeight'> = {
  reliableMinFacePx: 20,
  minFacePx: 40,
  overlap: 0.3,
  maxRuns: 48,
};

function starts(length: number, tile: number, stride: number): number[] {
  if (length <= tile) return [0];
  const n = Math.ceil((length - tile) / stride) + 1;
  // Evenly spread so the last tile ends exactly at the edge.
  return Array.from({ length: n }, (_, i) => Math.round((i * (length - tile)) / (n - 1)));
}

export function planDetection(width: number, height: number, o: DetectionPlanOptions): DetectionLevel[] {
  const [long, short] = [Math.max(o.inputWidth, o.inputHeight), Math.min(o.inputWidth, o.inputHeight)];
  const s0 = o.anyInputSize
    ? Math.min(1, long / Math.max(width, height), short / Math.min(width, height))
    : Math.min(o.inputWidth / width, o.inputHeight / height);
  const levels: DetectionLevel[] = [{ scale: s0, width: Math.max(1, Math.round(width * s0)), height: Math.max(1, Math.round(height * s0)), tiles: [{ x: 0, y: 0 }] }];
  const maxScale = Math.min(1, o.reliableMinFacePx / o.minFacePx);
  let runs = 1;
  for (let s = s0; s < maxScale; ) {
    s = Math.min(s * 2, maxScale);
    const w = Math.round(width * s);
    const h = Math.round(height * s);
    // A level whose image is shorter than a face the detector can find has nothing to add.
    if (Math.min(w, h) < o.reliableMinFacePx) continue;
    const xs = starts(w, o.inputWidth, o.inputWidth * (1 - o.overlap));
    const ys = starts(h, o.inputHeight, o.inputHeight * (1 - o.overlap));
    const tiles = ys.flatMap((y) => xs.map((x) => ({ x, y })));
    if (runs + tiles.length > o.maxRuns) break;
    runs += tiles.length;
    levels.push({ scale: s, width: w, height: h, tiles });
  }
  return levels;
}

export interface Detection {
  /** In image pixels. */
  box: Box;
  score: number;
  /** Five landmarks (eyes, nose tip, mouth corners), from a detector that gives them (YuNet). */
  points?: { x: number; y: number }[];
}


/** What level 0 (the whole image) saw, in image pixels. */
export interface CoarsePass {
  /** Accepted faces. */
  faces: Box[];
  /** Candidates below the accepted score and below level 0's reliable size: where a smaller face may be. */
  hints: Box[];
}

/** Why finer levels run: `none` (they do not), `small-faces` (asked for), `nothing-found` (level 0 found no face), `hints`. */
export type RefineReason = 'none' | 'small-faces' | 'nothing-found' | 'hints';

export interface Refinement {
  reason: RefineReason;
  /** The finer levels to run, each with only the tiles to run (levels left with none are omitted). */
  levels: DetectionLevel[];
}

/**
 * Which finer levels and tiles of `plan` (planDetection's, level 0 first) run after level 0 saw `coarse`. A hint selects, at
 * every finer level, the tiles that contain its centre; a hint overlapping an accepted face is that face's own low-scored
 * anchor and selects nothing.
 */
export function refineDetection(plan: DetectionLevel[], detail: DetectionDetail, coarse: CoarsePass, inputWidth: number, inputHeight: number): Refinement {
  const finer = plan.slice(1);
  if (finer.length === 0) return { reason: 'none', levels: [] };
  if (detail === 'small-faces') return { reason: 'small-faces', levels: finer };
  if (coarse.faces.length === 0) return { reason: 'nothing-found', levels: finer };
  const hints = coarse.hints.filter((h) => !coarse.faces.some((f) => intersection(f, h) > 0));
  const levels = finer
    .map((l) => ({
      ...l,
      tiles: l.tiles.filter((t) =>
        hints.some((h) => {
          const cx = (h.x + h.width / 2) * l.scale;
          const cy = (h.y + h.height / 2) * l.scale;
          return cx >= t.x && cx < t.x + inputWidth && cy >= t.y && cy < t.y + inputHeight;
        }),
      ),
    }))
    .filter((l) => l.tiles.length > 0);
  return levels.length ? { reason: 'hints', levels } : { reason: 'none', levels: [] };
}

/** Detector runs a level list costs (one per tile). */
export const detectorRuns = (levels: DetectionLevel[]) => levels.reduce((n, l) => n + l.tiles.length, 0);

const boxArea = (b: Box) => Math.max(0, b.width) * Math.max(0, b.height);

function intersection(a: Box, b: Box): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  return w > 0 && h > 0 ? w * h : 0;
}

/**
 * Greedy non-maximum suppression, highest score first. A box is dropped when its IoU with a kept box exceeds `iou`, or when
 * `containment` of the smaller box lies inside it (a face found whole at one level and as a part at another).
 */
export function nonMaxSuppression(dets: Detection[], iou = 0.4, containment = 0.7): Detection[] {
  const kept: Detection[] = [];
  for (const d of [...dets].sort((a, b) => b.score - a.score)) {
    const clash = kept.some((k) => {
      const inter = intersection(k.box, d.box);
      if (inter === 0) return false;
      const union = boxArea(k.box) + boxArea(d.box) - inter;
      return inter / union > iou || inter / Math.min(boxArea(k.box), boxArea(d.box)) > containment;
    });
    if (!clash) kept.push(d);
  }
  return kept;
}

/** True when a tile-local box reaches within `margin` px of a tile edge that is not an edge of the level image. */
export function touchesInnerEdge(box: Box, tile: Tile, level: DetectionLevel, inputWidth: number, inputHeight: number, margin = 2): boolean {
  const left = tile.x > 0 && box.x <= margin;
  const top = tile.y > 0 && box.y <= margin;
  const right = tile.x + inputWidth < level.width && box.x + box.width >= inputWidth - margin;
  const bottom = tile.y + inputHeight < level.height && box.y + box.height >= inputHeight - margin;
  return left || top || right || bottom;
}
