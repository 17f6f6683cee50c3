import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { tf } from '../model/backend';
import { UserError } from '../util/errors';
import { PACKAGE_ROOT } from '../util/version';

/** Default folder of the committed Fashion-MNIST test set. */
export const DEFAULT_DATA_DIR = path.join(PACKAGE_ROOT, 'data');

/** The Fashion-MNIST class names, by label. */
export const FASHION_CLASSES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
] as const;

/** A grayscale image set: n images of rows*cols uint8 pixels, row-major, and their labels. */
export interface ImageSet {
  images: Uint8Array;
  labels: Uint8Array;
  n: number;
  rows: number;
  cols: number;
}

/** How model inputs are normalised: x = (p/255 - mean) / std. */
export interface InputSpec {
  shape: number[];
  mean: number;
  std: number;
}

/** Parses an IDX file (gzip or raw) of unsigned bytes; returns its dimensions and data. */
export function readIdx(file: string): { dims: number[]; data: Uint8Array } {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new UserError(`${file}: cannot read IDX file (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = zlib.gunzipSync(buf);
    } catch (e) {
      throw new UserError(`${file}: corrupt gzip data (${(e as Error).message})`);
    }
  }
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0) throw new UserError(`${file}: not an IDX file (bad magic number)`);
  if (buf[2] !== 0x08) throw new UserError(`${file}: IDX element type 0x${buf[2].toString(16)} is not unsigned byte (0x08)`);
  const ndim = buf[3];
  if (ndim < 1 || buf.length < 4 + 4 * ndim) throw new UserError(`${file}: truncated IDX header`);
  const dims: number[] = [];
  for (let i = 0; i < ndim; i++) dims.push(buf.readUInt32BE(4 + 4 * i));
  const count = dims.reduce((a, b) => a * b, 1);
  const offset = 4 + 4 * ndim;
  if (buf.length !== offset + count) {
    throw new UserError(`${file}: IDX header promises ${count} bytes of data, file holds ${buf.length - offset}`);
  }
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + offset, count) };
}

/** The two files of the Fashion-MNIST test set in dataDir (images, labels). */
export function fashionDatasetFiles(dataDir: string = DEFAULT_DATA_DIR): [string, string] {
  return [path.join(dataDir, 't10k-images-idx3-ubyte.gz'), path.join(dataDir, 't10k-labels-idx1-ubyte.gz')];
}

/** Loads the Fashion-MNIST test set (t10k images and labels, IDX gz) from dataDir. */
export function loadFashionMnistTest(dataDir: string = DEFAULT_DATA_DIR): ImageSet {
  const [imgFile, lblFile] = fashionDatasetFiles(dataDir);
  const img = readIdx(imgFile);
  const lbl = readIdx(lblFile);
  if (img.dims.length !== 3) throw new UserError(`${imgFile}: expected 3 dimensions (n, rows, cols), got ${img.dims.length}`);
  if (lbl.dims.length !== 1) throw new UserError(`${lblFile}: expected 1 dimension (n), got ${lbl.dims.length}`);
  const [n, rows, cols] = img.dims;
  if (lbl.dims[0] !== n) throw new UserError(`${lblFile}: ${lbl.dims[0]} labels for ${n} images in ${imgFile}`);
  for (let i = 0; i < n; i++) {
    if (lbl.data[i] > 9) throw new UserError(`${lblFile}: label ${lbl.data[i]} at index ${i} is not a class 0..9`);
  }
  return { images: img.data, labels: lbl.data, n, rows, cols };
}

/** Builds the normalised model input [indices.length, rows, cols, 1] for the chosen images. */
export function toModelInput(set: ImageSet | Uint8Array, indices: ArrayLike<number>, input: InputSpec): tf.Tensor4D {
  const images = set instanceof Uint8Array ? set : set.images;
  const [rows, cols] = input.shape;
  const px = rows * cols;
  const out = new Float32Array(indices.length * px);
  for (let k = 0; k < indices.length; k++) {
    const base = indices[k] * px;
    if (base + px > images.length) throw new RangeError(`image index ${indices[k]} is out of range`);
    for (let j = 0; j < px; j++) out[k * px + j] = (images[base + j] / 255 - input.mean) / input.std;
  }
  return tf.tensor4d(out, [indices.length, rows, cols, 1]);
}
