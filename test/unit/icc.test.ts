import sharp from 'sharp';
import { isSrgbProfile } from '../../src/platform/face/icc';
import { decodeImage } from '../../src/platform/face/decode';

/**
 * Which embedded ICC profiles the decoder treats as sRGB (conversion skipped) and which it converts. The profiles are the
 * ones sharp ships (sRGB, Display P3, CMYK), embedded in JPEGs made here, and copies of the sRGB one altered a tag at a time.
 */
const limits = { maxPixels: 10_000_000, maxBytes: 10_000_000 };

/** A 96x64 colour ramp (every channel varies), as a JPEG carrying `profile`. */
async function photo(profile?: string): Promise<Buffer> {
  const w = 96, h = 64;
  const px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) px.set([(x * 255) / w, (y * 255) / h, ((x + y) * 255) / (w + h)], (y * w + x) * 3);
  const img = sharp(px, { raw: { width: w, height: h, channels: 3 } });
  return (profile ? img.withIccProfile(profile) : img).jpeg({ quality: 95 }).toBuffer();
}

const iccOf = async (jpeg: Buffer) => (await sharp(jpeg).metadata()).icc!;

/** The offset of tag `sig`'s data in `icc`. */
function tagOffset(icc: Buffer, sig: string): number {
  for (let i = 0; i < icc.readUInt32BE(128); i++) if (icc.toString('latin1', 132 + i * 12, 136 + i * 12) === sig) return icc.readUInt32BE(136 + i * 12);
  throw new Error(`no ${sig}`);
}

describe('isSrgbProfile', () => {
  it('recognises the sRGB profile, not Display P3 or CMYK, and nothing when there is no profile', async () => {
    expect(isSrgbProfile(await iccOf(await photo('srgb')))).toBe(true);
    expect(isSrgbProfile(await iccOf(await photo('p3')))).toBe(false);
    const cmyk = await sharp(await photo()).withIccProfile('cmyk').toColourspace('cmyk').jpeg().toBuffer();
    expect(isSrgbProfile(await iccOf(cmyk))).toBe(false);
    expect(isSrgbProfile(undefined)).toBe(false);
  });

  it('refuses an sRGB profile whose colorants or tone curve were changed', async () => {
    const srgb = await iccOf(await photo('srgb'));
    const primaries = Buffer.from(srgb);
    primaries.writeInt32BE(Math.round(0.5 * 65536), tagOffset(primaries, 'rXYZ') + 8);
    expect(isSrgbProfile(primaries)).toBe(false);
    for (const gamma of [1, 1.8]) {
      // A one-entry curve is a plain gamma (u8Fixed8): 1.0 (linear) and 1.8 are not sRGB's curve.
      const curved = Buffer.from(srgb);
      for (const sig of ['rTRC', 'gTRC', 'bTRC']) {
        const at = tagOffset(curved, sig);
        curved.write('curv', at, 'latin1');
        curved.writeUInt32BE(1, at + 8);
        curved.writeUInt16BE(Math.round(gamma * 256), at + 12);
      }
      expect(isSrgbProfile(curved)).toBe(false);
    }
  });

  it('answers false, without throwing, on truncated, oversized or garbage profiles', async () => {
    const srgb = await iccOf(await photo('srgb'));
    for (const n of [0, 10, 131, 140, srgb.length - 20]) expect(isSrgbProfile(srgb.subarray(0, n))).toBe(false);
    const manyTags = Buffer.from(srgb);
    manyTags.writeUInt32BE(0xffffffff, 128);
    expect(isSrgbProfile(manyTags)).toBe(false);
    const farTag = Buffer.from(srgb);
    farTag.writeUInt32BE(0xfffffff0, 136);
    expect(isSrgbProfile(farTag)).toBe(false);
    expect(isSrgbProfile(Buffer.alloc(4096, 0x41))).toBe(false);
  });
});

describe('decodeImage and embedded profiles', () => {
  const maxDiff = (a: Uint8Array, b: Uint8Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

  it('gives an sRGB-tagged photo the pixels the full colour conversion gives (within rounding)', async () => {
    const jpeg = await photo('srgb');
    const decoded = await decodeImage(jpeg, limits);
    const converted = await sharp(jpeg).toColourspace('srgb').raw().toBuffer();
    expect(decoded.data.length).toBe(converted.length);
    expect(maxDiff(decoded.data, converted)).toBeLessThanOrEqual(2);
  });

  it('still converts a Display P3 photo (its pixels are not taken as sRGB)', async () => {
    const jpeg = await photo('p3');
    const decoded = await decodeImage(jpeg, limits);
    const converted = await sharp(jpeg).toColourspace('srgb').raw().toBuffer();
    const taken = await sharp(jpeg, { ignoreIcc: true }).toColourspace('srgb').raw().toBuffer();
    expect(maxDiff(decoded.data, converted)).toBeLessThanOrEqual(2);
    expect(maxDiff(taken, converted)).toBeGreaterThan(5);
  });
});
