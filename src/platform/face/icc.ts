/**
 * Is an embedded ICC profile sRGB itself? Then converting the decoded pixels "from it to sRGB" is the identity, and the
 * decoder may skip it (sharp's `ignoreIcc`): on camera photos that carry the sRGB IEC61966-2.1 profile, that conversion
 * (lcms, per pixel) cost more than the JPEG decoding itself (docs/BENCHMARKS.md, "Real camera photos").
 *
 * The profile counts as sRGB only when its red, green and blue colorants (the rXYZ, gXYZ, bXYZ tags, D50-adapted) are
 * sRGB's within 0.002 and each tone curve (rTRC, gTRC, bTRC) is within 0.01 of sRGB's in linear light at twelve points
 * (gamma 2.2 is; a linear or a gamma 1.8 curve is not). What it is called does not matter (Facebook's compact `c2` profile is
 * sRGB under another name). Any other profile (Display P3, Adobe RGB, a camera's own), a profile
 * this cannot read, or one that is malformed is converted as before: the answer is false whenever in doubt. Every read is
 * bounds-checked: the profile comes from an upload.
 */

/** sRGB's colorants adapted to D50 (Bradford), as the sRGB IEC61966-2.1 profile and its successors store them. */
const SRGB_COLORANTS: Record<string, [number, number, number]> = {
  rXYZ: [0.4361, 0.2225, 0.0139],
  gXYZ: [0.3851, 0.7169, 0.0971],
  bXYZ: [0.1431, 0.0606, 0.7141],
};
const TOLERANCE = 0.002;
/** A profile's tag count is small; a bigger one is not a profile we read. */
const MAX_TAGS = 100;

interface Tag {
  offset: number;
  length: number;
}

function tagTable(icc: Buffer): Map<string, Tag> | null {
  if (icc.length < 132 || icc.toString('latin1', 36, 40) !== 'acsp') return null;
  const count = icc.readUInt32BE(128);
  if (count > MAX_TAGS || 132 + count * 12 > icc.length) return null;
  const tags = new Map<string, Tag>();
  for (let i = 0; i < count; i++) {
    const at = 132 + i * 12;
    const offset = icc.readUInt32BE(at + 4);
    const length = icc.readUInt32BE(at + 8);
    if (offset + length > icc.length || length < 8) return null;
    tags.set(icc.toString('latin1', at, at + 4), { offset, length });
  }
  return tags;
}

function xyz(icc: Buffer, t: Tag | undefined): [number, number, number] | null {
  if (!t || t.length < 20 || icc.toString('latin1', t.offset, t.offset + 4) !== 'XYZ ') return null;
  const s15f16 = (at: number) => icc.readInt32BE(at) / 65536;
  return [s15f16(t.offset + 8), s15f16(t.offset + 12), s15f16(t.offset + 16)];
}

/** sRGB's transfer function (encoded value → linear light), IEC 61966-2-1. */
const srgbToLinear = (v: number) => (v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
/** Where the curves are compared, and how far apart (linear light, 0–1) they may be: gamma 2.2 is within 0.003 of sRGB. */
const TRC_SAMPLES = [0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];
const TRC_TOLERANCE = 0.01;
/** Parameter counts of the ICC parametric curve types 0–4. */
const PARA_PARAMS = [1, 3, 4, 5, 7];

/** A tone reproduction curve (`curv`: gamma or table; `para`: ICC parametric types 0–4) as a function, or null. */
function trc(icc: Buffer, t: Tag | undefined): ((v: number) => number) | null {
  if (!t) return null;
  const type = icc.toString('latin1', t.offset, t.offset + 4);
  if (type === 'curv' && t.length >= 12) {
    const n = icc.readUInt32BE(t.offset + 8);
    if (t.length < 12 + 2 * n) return null;
    if (n === 0) return (v) => v;
    if (n === 1) {
      const g = icc.readUInt16BE(t.offset + 12) / 256;
      return (v) => v ** g;
    }
    const at = (k: number) => icc.readUInt16BE(t.offset + 12 + 2 * k) / 65535;
    return (v) => {
      const x = v * (n - 1);
      const k = Math.min(n - 2, Math.floor(x));
      return at(k) + (x - k) * (at(k + 1) - at(k));
    };
  }
  if (type === 'para' && t.length >= 12) {
    const fn = icc.readUInt16BE(t.offset + 8);
    const count = PARA_PARAMS[fn];
    if (count === undefined || t.length < 12 + 4 * count) return null;
    const [g, a = 1, b = 0, c = 0, d = 0, e = 0, f = 0] = Array.from({ length: count }, (_, k) => icc.readInt32BE(t.offset + 12 + 4 * k) / 65536);
    if (fn === 0) return (v) => v ** g!;
    if (fn === 1) return (v) => (v >= -b / a ? (a * v + b) ** g! : 0);
    if (fn === 2) return (v) => (v >= -b / a ? (a * v + b) ** g! + c : c);
    if (fn === 3) return (v) => (v >= d ? (a * v + b) ** g! : c * v);
    return (v) => (v >= d ? (a * v + b) ** g! + e : c * v + f);
  }
  return null;
}

export function isSrgbProfile(icc: Buffer | undefined): boolean {
  if (!icc) return false;
  const tags = tagTable(icc);
  if (!tags || icc.toString('latin1', 16, 20) !== 'RGB ') return false;
  for (const [sig, want] of Object.entries(SRGB_COLORANTS)) {
    const got = xyz(icc, tags.get(sig));
    if (!got || got.some((v, i) => Math.abs(v - want[i]!) > TOLERANCE)) return false;
  }
  for (const sig of ['rTRC', 'gTRC', 'bTRC']) {
    const curve = trc(icc, tags.get(sig));
    if (!curve || TRC_SAMPLES.some((v) => !(Math.abs(curve(v) - srgbToLinear(v)) <= TRC_TOLERANCE))) return false;
  }
  return true;
}
