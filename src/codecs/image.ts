/**
 * Input codecs: the device compresses the image as it captures it (28x28 grayscale for
 * Fashion-MNIST, the resized and cropped RGB frame of an image folder) and the server runs
 * the full model on the decoded image. Encoding and decoding go through sharp (libvips with
 * mozjpeg, libwebp, libaom/libheif and libpng); the payload is the container as sent.
 *
 * A one-channel input is tagged as single-band ('b-w') so JPEG and PNG write one-channel
 * files; libwebp and AVIF in sharp always code three channels (a gray image costs little
 * extra there since its chroma is flat). Decoding converts back to one band. Three-channel
 * input is sRGB, coded with each format's default chroma handling (JPEG and WebP 4:2:0).
 */
import sharp from 'sharp';

// One libvips thread per image: single-threaded codec time is what we report, a 28x28 image
// is far too small to gain from splitting it, and measurement runs one process per core.
sharp.concurrency(1);
// Every image is coded once, so libvips' operation cache only costs lookups and memory.
sharp.cache(false);

/** Input codec formats (registered in registry.ts). */
export type ImageFormat = 'jpeg' | 'webp' | 'webp-lossless' | 'avif' | 'png' | 'raw';

/** Data description of an input codec; quality only for lossy formats. */
export interface ImageCodecSpec {
  codec: ImageFormat;
  quality?: number;
}

/**
 * AVIF encoder effort: 0 (fastest) .. 9. On Fashion-MNIST effort 1 gives the bytes of 2
 * (effort 0 ~8% more) in less time; 4 (sharp's default) takes twice as long for ~1% fewer.
 */
export const AVIF_EFFORT = 1;

/** Whether decoding this format returns the input pixels exactly. */
export function isLossless(format: ImageFormat): boolean {
  return format === 'webp-lossless' || format === 'png' || format === 'raw';
}

function checkSpec(spec: ImageCodecSpec): void {
  const lossy = spec.codec === 'jpeg' || spec.codec === 'webp' || spec.codec === 'avif';
  if (lossy && !(Number.isInteger(spec.quality) && spec.quality! >= 1 && spec.quality! <= 100)) {
    throw new Error(`${spec.codec}: quality must be an integer 1..100, got ${spec.quality}`);
  }
  if (!lossy && spec.quality !== undefined) throw new Error(`${spec.codec}: takes no quality`);
}

function checkChannels(channels: number): void {
  if (channels !== 1 && channels !== 3) throw new Error(`image: ${channels} channels (1 or 3 are coded)`);
}

/**
 * Encodes one image (width*height*channels bytes, row-major, channels interleaved; 1 = gray,
 * 3 = RGB) to the container bytes.
 */
export async function encodeImage(pixels: Uint8Array, width: number, height: number, spec: ImageCodecSpec, channels = 1): Promise<Uint8Array> {
  checkSpec(spec);
  checkChannels(channels);
  if (pixels.length !== width * height * channels) throw new Error(`image: ${pixels.length} bytes for ${width}x${height}x${channels}`);
  if (spec.codec === 'raw') return Uint8Array.from(pixels);
  const img = channels === 1
    ? sharp(pixels, { raw: { width, height, channels: 1 } }).toColourspace('b-w')
    : sharp(pixels, { raw: { width, height, channels: 3 } });
  let out: Buffer;
  switch (spec.codec) {
    case 'jpeg':
      out = await img.jpeg({ quality: spec.quality, mozjpeg: true }).toBuffer();
      break;
    case 'webp':
      out = await img.webp({ quality: spec.quality, effort: 4 }).toBuffer();
      break;
    case 'webp-lossless':
      out = await img.webp({ lossless: true, effort: 6 }).toBuffer();
      break;
    case 'avif':
      out = await img.avif({ quality: spec.quality, effort: AVIF_EFFORT }).toBuffer();
      break;
    case 'png':
      out = await img.png({ compressionLevel: 9, adaptiveFiltering: true }).toBuffer();
      break;
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** Decodes container bytes back to width*height*channels pixels (gray or RGB). */
export async function decodeImage(bytes: Uint8Array, width: number, height: number, spec: ImageCodecSpec, channels = 1): Promise<Uint8Array> {
  checkChannels(channels);
  if (spec.codec === 'raw') {
    if (bytes.length !== width * height * channels) throw new Error(`raw image: ${bytes.length} bytes, expected ${width * height * channels}`);
    return Uint8Array.from(bytes);
  }
  const img = channels === 1 ? sharp(bytes).toColourspace('b-w') : sharp(bytes).removeAlpha().toColourspace('srgb');
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  if (info.width !== width || info.height !== height || info.channels !== channels) {
    throw new Error(`${spec.codec}: decoded ${info.width}x${info.height}x${info.channels}, expected ${width}x${height}x${channels}`);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Qualities of the lossy sweeps (registry.ts): denser near the top, where accuracy approaches
 * the teacher's. Every setting costs a sharp encode and decode and a whole-model inference per
 * image, hence 19 lossy settings, not 300.
 */
export const JPEG_QUALITIES = [10, 30, 50, 70, 80, 90, 95, 100];
export const WEBP_QUALITIES = [10, 30, 50, 70, 80, 90, 100];
export const AVIF_QUALITIES = [30, 50, 70, 90];
