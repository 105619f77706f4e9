import sharp from 'sharp';

/**
 * Images within the default limits that used to break the engine (issue 10): extreme canvases, a face-free 49 MP JPEG, and a
 * real group photo upscaled past FACE_MAX_ANALYSIS_PIXELS. Made with sharp on the fly; `groupPhoto` is any real photo with faces.
 */
export async function hostileCanvases(groupPhoto: Buffer): Promise<[string, Buffer][]> {
  const plain = (width: number, height: number, r: number, g: number, b: number) =>
    sharp({ create: { width, height, channels: 3, background: { r, g, b } } });
  return [
    ['8000x300 grey JPEG', await plain(8000, 300, 128, 128, 128).jpeg().toBuffer()],
    ['7000x7000 no-face JPEG', await plain(7000, 7000, 90, 140, 200).jpeg().toBuffer()],
    ['100000x1 PNG', await plain(100_000, 1, 10, 200, 30).png().toBuffer()],
    ['1x100000 PNG', await plain(1, 100_000, 200, 10, 30).png().toBuffer()],
    ['7000x4667 group photo JPEG', await sharp(groupPhoto).resize(7000).jpeg({ quality: 80 }).toBuffer()],
  ];
}
