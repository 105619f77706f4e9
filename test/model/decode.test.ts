import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { decodeImage } from '../../src/platform/face/decode';
import { sample } from '../helpers/fixtures';
import { declaredHugePng, withExifOrientation } from '../helpers/images';

const limits = { maxPixels: 50_000_000, maxBytes: 15 * 1024 * 1024 };
const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code?: string; status?: number }) => `${e.status} ${e.code}`);

describe('decodeImage', () => {
  it('refuses random bytes, SVG, GIF, TIFF and a truncated JPEG with 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><circle r="4"/></svg>');
    const gif = await sharp(sample(1)).resize(64).gif().toBuffer();
    const tiff = await sharp(sample(1)).resize(64).tiff().toBuffer();
    for (const bad of [randomBytes(4096), svg, gif, tiff, sample(1).subarray(0, 2000), sample(1).subarray(0, sample(1).length - 4000)]) {
      expect(await code(decodeImage(bad, limits))).toBe('415 UNSUPPORTED_MEDIA_TYPE');
    }
  });

  it('refuses a small PNG that declares 30000x30000 pixels with 422 IMAGE_TOO_LARGE, before decoding it', async () => {
    const png = declaredHugePng(30000, 30000);
    expect(png.length).toBeLessThan(100_000);
    expect(await code(decodeImage(png, limits))).toBe('422 IMAGE_TOO_LARGE');
  });

  it('refuses an ordinary photo over the pixel limit with IMAGE_TOO_LARGE and over the byte limit with PAYLOAD_TOO_LARGE', async () => {
    expect(await code(decodeImage(sample(1), { maxPixels: 1_000_000, maxBytes: limits.maxBytes }))).toBe('422 IMAGE_TOO_LARGE');
    expect(await code(decodeImage(sample(1), { maxPixels: limits.maxPixels, maxBytes: 1000 }))).toBe('413 PAYLOAD_TOO_LARGE');
  });

  it('applies EXIF orientation: pixels stored sideways decode upright', async () => {
    const rotated = await withExifOrientation(sample(1), 6);
    const stored = await sharp(rotated).metadata();
    expect([stored.width, stored.height, stored.orientation]).toEqual([1280, 1920, 6]);
    const d = await decodeImage(rotated, limits);
    expect([d.width, d.height]).toEqual([1920, 1280]);
  });

  it('accepts PNG with alpha, WebP and greyscale JPEG as packed 8-bit RGB, and hashes the bytes as received', async () => {
    const inputs = [
      await sharp(sample(2)).resize(400).ensureAlpha(0.5).png().toBuffer(),
      await sharp(sample(2)).resize(400).webp().toBuffer(),
      await sharp(sample(2)).resize(400).greyscale().jpeg().toBuffer(),
    ];
    for (const buf of inputs) {
      const d = await decodeImage(buf, limits);
      expect(d.width).toBe(400);
      expect(d.data.length).toBe(d.width * d.height * 3);
      expect(d.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
    const grey = await decodeImage(inputs[2]!, limits);
    expect(grey.data[0]).toBe(grey.data[1]);
  });

  it('uses the first frame of an animated WebP', async () => {
    const red = { width: 32, height: 32, channels: 3 as const, background: '#ff0000' };
    const blue = { ...red, background: '#0000ff' };
    const frames = [await sharp({ create: red }).raw().toBuffer(), await sharp({ create: blue }).raw().toBuffer()];
    const anim = await sharp(Buffer.concat(frames), { raw: { width: 32, height: 64, channels: 3, pageHeight: 32 } as never })
      .webp({ lossless: true, loop: 0, delay: [100, 100] } as never)
      .toBuffer();
    const d = await decodeImage(anim, limits);
    expect([d.width, d.height]).toEqual([32, 32]);
    expect(Array.from(d.data.subarray(0, 3))).toEqual([255, 0, 0]);
  });
});
