/**
 * The server side of preprocessing: decoded uint8 pixels (RGB or gray, as captured) become
 * the model input, x = (p/255 - mean[c]) / std[c] in the model's channel order.
 */
import { tf } from '../model/backend';
import type { Normalization } from './spec';

/** The normalization a meta.json input block ({mean, std}, one channel) stands for. */
export function grayNormalization(input: { mean: number; std: number }): Normalization {
  return { order: 'gray', mean: [input.mean], std: [input.std] };
}

/**
 * Builds the NHWC float32 model input of n images of `shape` [rows, cols, channels]. Each
 * value is the float32 rounding of (p/255 - mean)/std computed in double precision, the same
 * expression as toModelInput of data/fashion.ts, so one-channel results are bit-identical.
 */
export function toNormalizedInput(pixels: Uint8Array, n: number, shape: number[], norm: Normalization): tf.Tensor4D {
  const [rows, cols, channels] = shape;
  const want = norm.order === 'gray' ? 1 : 3;
  if (channels !== want) throw new Error(`normalization for ${norm.order} takes ${want} channel(s), the input has ${channels}`);
  const hw = rows * cols;
  if (pixels.length < n * hw * channels) throw new RangeError(`${pixels.length} pixel values for ${n} images of ${shape.join('x')}`);
  const lut = Array.from({ length: channels }, (_, c) => Float32Array.from({ length: 256 }, (_, p) => (p / 255 - norm.mean[c]) / norm.std[c]));
  const out = new Float32Array(n * hw * channels);
  if (channels === 1) {
    const l = lut[0];
    for (let i = 0; i < n * hw; i++) out[i] = l[pixels[i]];
  } else {
    // Stored pixels are RGB; a BGR model takes channel c from stored channel 2 - c.
    const src = norm.order === 'bgr' ? [2, 1, 0] : [0, 1, 2];
    for (let i = 0; i < n * hw; i++) {
      const b = i * 3;
      out[b] = lut[0][pixels[b + src[0]]];
      out[b + 1] = lut[1][pixels[b + src[1]]];
      out[b + 2] = lut[2][pixels[b + src[2]]];
    }
  }
  return tf.tensor4d(out, [n, rows, cols, channels]);
}
