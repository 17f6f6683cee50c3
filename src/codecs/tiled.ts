/**
 * Codec feature compression (the SC2 benchmark's baseline of image codecs on intermediate
 * features): a split tensor of C channels of H x W values is normalised to 8 bits with its
 * minimum and maximum, its channels are tiled into one gray image (ceil(sqrt C) tiles a row,
 * in channel order, unused tiles black), and the image is coded with JPEG or WebP (sharp).
 * The payload is the normalisation side information (minimum and maximum, float32 each,
 * 8 bytes) followed by the image container; the receiver knows the tensor shape from the
 * model. A one-dimensional tensor (a pooled vector) is C channels of 1 x 1.
 */
import { decodeImage, encodeImage } from './image';

/** Data description of a tiled image codec. */
export interface TiledCodecSpec {
  codec: 'tiled-jpeg' | 'tiled-webp';
  quality: number;
}

/** Qualities of the registry sweep. */
export const TILED_QUALITIES = [10, 30, 50, 70, 90];

/** Tile layout of a tensor shape: channels, tile size, grid and image size. */
export function tileLayout(shape: readonly number[]): { c: number; h: number; w: number; cols: number; rows: number; width: number; height: number } {
  const c = shape[shape.length - 1];
  const h = shape.length >= 3 ? shape[shape.length - 3] : 1;
  const w = shape.length >= 2 ? shape[shape.length - 2] : 1;
  if (!(c > 0 && h > 0 && w > 0) || shape.length > 3) throw new Error(`tiled: cannot tile a tensor of shape [${shape.join(',')}] (expected [H, W, C], [W, C] or [C])`);
  const cols = Math.ceil(Math.sqrt(c));
  const rows = Math.ceil(c / cols);
  return { c, h, w, cols, rows, width: cols * w, height: rows * h };
}

const SIDE_BYTES = 8;

/** The tiled JPEG/WebP feature codec (asynchronous: its encode and decode are in asyncCoder). */
export class TiledImageCodec {
  readonly name: string;
  readonly params: string;
  readonly reconstructionKey: string;
  readonly hasEstimate = false;
  readonly lastEstimatedBits = NaN;
  readonly asyncCoder: {
    encode(values: Float32Array, shape: readonly number[]): Promise<Uint8Array>;
    decode(bytes: Uint8Array): Promise<{ values: Float32Array; shape: number[] }>;
  };
  private shape: number[] | undefined;
  constructor(readonly spec: TiledCodecSpec) {
    if (!(Number.isInteger(spec.quality) && spec.quality >= 1 && spec.quality <= 100)) throw new Error(`${spec.codec}: quality must be an integer 1..100, got ${spec.quality}`);
    this.name = spec.codec;
    this.params = `quality=${spec.quality}`;
    this.reconstructionKey = `${spec.codec};quality=${spec.quality}`;
    const image = { codec: spec.codec === 'tiled-jpeg' ? 'jpeg' : 'webp', quality: spec.quality } as const;
    this.asyncCoder = {
      encode: async (values, shape) => {
        const L = tileLayout(shape);
        if (values.length !== L.c * L.h * L.w) throw new Error(`${spec.codec}: ${values.length} values for shape [${shape.join(',')}]`);
        this.shape = [...shape];
        let lo = Infinity, hi = -Infinity;
        for (const v of values) {
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
        // The range travels as float32: normalise with the values the receiver will read.
        const range = new Float32Array([lo, hi]);
        const span = range[1] - range[0];
        const pixels = new Uint8Array(L.width * L.height);
        for (let i = 0; i < values.length; i++) {
          const ch = i % L.c, pix = (i - ch) / L.c, y = Math.floor(pix / L.w), x = pix % L.w;
          const tr = Math.floor(ch / L.cols), tc = ch % L.cols;
          const q = span > 0 ? Math.round(((values[i] - range[0]) / span) * 255) : 0;
          pixels[(tr * L.h + y) * L.width + tc * L.w + x] = q < 0 ? 0 : q > 255 ? 255 : q;
        }
        const img = await encodeImage(pixels, L.width, L.height, image, 1);
        const out = new Uint8Array(SIDE_BYTES + img.length);
        new DataView(out.buffer).setFloat32(0, range[0], true);
        new DataView(out.buffer).setFloat32(4, range[1], true);
        out.set(img, SIDE_BYTES);
        return out;
      },
      decode: async (bytes) => {
        if (!this.shape) throw new Error(`${spec.codec}: the tensor shape is known from the model: encode once (or call setShape) before decoding`);
        if (bytes.length < SIDE_BYTES) throw new Error(`${spec.codec}: payload of ${bytes.length} bytes has no range header`);
        const L = tileLayout(this.shape);
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        const lo = view.getFloat32(0, true), hi = view.getFloat32(4, true);
        const pixels = await decodeImage(bytes.subarray(SIDE_BYTES), L.width, L.height, image, 1);
        const span = hi - lo;
        const values = new Float32Array(L.c * L.h * L.w);
        for (let i = 0; i < values.length; i++) {
          const ch = i % L.c, pix = (i - ch) / L.c, y = Math.floor(pix / L.w), x = pix % L.w;
          const tr = Math.floor(ch / L.cols), tc = ch % L.cols;
          values[i] = lo + (pixels[(tr * L.h + y) * L.width + tc * L.w + x] / 255) * span;
        }
        return { values, shape: [...this.shape] };
      },
    };
  }
  /** The split's tensor shape (the receiver's knowledge of the model), for decoding alone. */
  setShape(shape: readonly number[]): void {
    tileLayout(shape);
    this.shape = [...shape];
  }
  encode(): Uint8Array {
    throw new Error(`${this.name} codes through sharp, asynchronously: use asyncCoder.encode (encodeFeature)`);
  }
  decode(): { values: Float32Array; shape: number[] } {
    throw new Error(`${this.name} codes through sharp, asynchronously: use asyncCoder.decode (decodeFeature)`);
  }
  reference(): Float32Array {
    throw new Error(`${this.name} is lossy through JPEG/WebP: its reconstruction is what decoding returns`);
  }
  estimatedBits(): number {
    return NaN;
  }
}
