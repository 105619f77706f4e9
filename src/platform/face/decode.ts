import { createHash } from 'node:crypto';
import sharp, { type Metadata, type OutputInfo } from 'sharp';
import { sniffImageType } from '../../shared/image-format';
import { isSrgbProfile } from './icc';
import { ImageTooLargeError, PayloadTooLargeError, UnsupportedMediaTypeError } from '../../shared/errors';

/** Raw, tightly packed 8-bit sRGB pixels, row-major, 3 bytes per pixel (what the face models consume). */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
}

export interface DecodedImage extends RawImage {
  /** SHA-256 (hex) of the uploaded bytes exactly as received (before any decoding). */
  sha256: string;
  format: 'jpeg' | 'png' | 'webp';
  /** Upright size of the image as uploaded; `width`/`height` are the analysed copy's (smaller when over maxAnalysisPixels). */
  originalWidth: number;
  originalHeight: number;
  /** Analysed pixels per original pixel (1 unless downscaled). */
  scale: number;
}

export interface DecodeLimits {
  /** Refuse (IMAGE_TOO_LARGE, 422) images whose declared width*height exceeds this, before decoding any pixel data. */
  maxPixels: number;
  /** Refuse (PAYLOAD_TOO_LARGE, 413) inputs longer than this. The HTTP layer normally enforces it first. */
  maxBytes: number;
  /**
   * Images above this many pixels are downscaled while decoding (libvips shrink-on-load for JPEG) to fit it, so the raw copy
   * held and sent to a worker is at most 3 × this many bytes (default DEFAULT_MAX_ANALYSIS_PIXELS).
   */
  maxAnalysisPixels?: number;
  /** Convert through an embedded sRGB profile too (the identity, slower: scripts/photo-stages.ts measures the difference). */
  convertSrgbProfiles?: boolean;
}

/** 4096 x 4096: a 48 MB raw copy at most. A face small enough to vanish at this size has too few pixels to identify anyway. */
export const DEFAULT_MAX_ANALYSIS_PIXELS = 4096 * 4096;

const WHITE = { r: 255, g: 255, b: 255 };

/**
 * Decodes an upload to upright raw RGB.
 * - The type comes from magic bytes only (JPEG, PNG, WebP); SVG, GIF, TIFF, HEIC and anything else are 415.
 * - Dimensions are read from the header first; over `maxPixels` is 422 IMAGE_TOO_LARGE without decompressing anything.
 *   `limitInputPixels` is passed as well, so libvips itself enforces the same bound.
 * - Animated WebP: only the first frame is used (sharp's default `pages: 1`). A probe is a still photo; picking "the best
 *   frame" would make the result depend on content the reviewer never sees in the stored image.
 * - EXIF orientation is applied (`rotate()`), colour is converted to sRGB through the embedded ICC profile (skipped when that
 *   profile is sRGB itself: icc.ts), 8 bits per channel, alpha is flattened onto white.
 * - Corrupt or truncated data is 415 (`failOn: 'truncated'` rejects truncation but tolerates benign encoder warnings).
 */
export async function decodeImage(buf: Buffer, limits: DecodeLimits): Promise<DecodedImage> {
  if (buf.length > limits.maxBytes) throw new PayloadTooLargeError(limits.maxBytes);
  const sniffed = sniffImageType(buf);
  if (!sniffed) throw new UnsupportedMediaTypeError();
  const sha256 = createHash('sha256').update(buf).digest('hex');

  let meta: Metadata;
  try {
    // Header only (no pixel data is decompressed), read without limitInputPixels so an oversized image is reported as such.
    meta = await sharp(buf, { limitInputPixels: false, pages: 1 }).metadata();
  } catch {
    throw new UnsupportedMediaTypeError();
  }
  const format = meta.format === 'jpeg' || meta.format === 'png' || meta.format === 'webp' ? meta.format : null;
  if (!format || `image/${format}` !== sniffed || !meta.width || !meta.height) throw new UnsupportedMediaTypeError();
  const declaredHeight = meta.pageHeight ?? meta.height;
  if (meta.width * declaredHeight > limits.maxPixels) throw new ImageTooLargeError(meta.width, declaredHeight, limits.maxPixels);

  // Upright size: EXIF orientations 5-8 swap width and height.
  const swap = (meta.orientation ?? 1) >= 5;
  const originalWidth = swap ? declaredHeight : meta.width;
  const originalHeight = swap ? meta.width : declaredHeight;
  // An embedded sRGB profile makes the colour conversion the identity: skipped (icc.ts), other profiles are converted.
  const input = () => sharp(buf, { limitInputPixels: limits.maxPixels, failOn: 'truncated', pages: 1, ignoreIcc: !limits.convertSrgbProfiles && isSrgbProfile(meta.icc) });
  const budget = limits.maxAnalysisPixels ?? DEFAULT_MAX_ANALYSIS_PIXELS;
  const shrink = Math.min(1, Math.sqrt(budget / (originalWidth * originalHeight)));
  let out: { data: Buffer; info: OutputInfo };
  try {
    let pipeline = input().rotate();
    if (shrink < 1) {
      pipeline = pipeline.resize(Math.max(1, Math.floor(originalWidth * shrink)), Math.max(1, Math.floor(originalHeight * shrink)), { fit: 'fill' });
    }
    out = await pipeline
      .toColourspace('srgb')
      .flatten({ background: WHITE })
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (e) {
    if (/pixel limit/i.test((e as Error).message)) throw new ImageTooLargeError(meta.width, declaredHeight, limits.maxPixels);
    throw new UnsupportedMediaTypeError();
  }
  const { info, data } = out;
  if (info.channels !== 3) throw new UnsupportedMediaTypeError(`Unexpected channel count ${info.channels} after decoding.`);
  return { data, width: info.width, height: info.height, sha256, format, originalWidth, originalHeight, scale: info.width / originalWidth };
}
