/**
 * The dataset a measurement runs on, whatever it is made of: n labelled images of one size,
 * whose pixels (as the device captures them) are produced on demand for a batch of samples.
 */
import { hashFiles } from '../measure/cache';
import { fashionDatasetFiles, loadFashionMnistTest } from './fashion';
import type { DataRef, Normalization } from './spec';

/** Labelled images of rows x cols x channels uint8 pixels (row-major, channels interleaved). */
export interface Dataset {
  n: number;
  rows: number;
  cols: number;
  channels: number;
  /** The class of each sample. */
  labels: Int32Array;
  /** Pixels of the given samples, one after the other. */
  pixels(indices: ArrayLike<number>): Promise<Uint8Array>;
  /**
   * Channel order and scaling of the model input, when the dataset declares them (image
   * folders); without it a model's meta.json input mean/std apply.
   */
  normalization?: Normalization;
  /** Where sample i comes from, for messages. */
  where(i: number): string;
  /** Content hash of everything that makes the samples (part of every cache key). */
  hash(): string;
}

/** The Fashion-MNIST test set of a folder as a Dataset. */
export function fashionDataset(dir: string): Dataset {
  const set = loadFashionMnistTest(dir);
  const px = set.rows * set.cols;
  const [imageFile] = fashionDatasetFiles(dir);
  return {
    n: set.n,
    rows: set.rows,
    cols: set.cols,
    channels: 1,
    labels: Int32Array.from(set.labels),
    where: (i) => `${imageFile} image ${i}`,
    async pixels(indices) {
      const out = new Uint8Array(indices.length * px);
      for (let k = 0; k < indices.length; k++) {
        const i = indices[k];
        if (!(i >= 0 && i < set.n)) throw new RangeError(`image index ${i} is out of range`);
        out.set(set.images.subarray(i * px, (i + 1) * px), k * px);
      }
      return out;
    },
    hash: () => hashFiles(fashionDatasetFiles(dir)),
  };
}

/**
 * Opens a dataset. Image folders are listed (and with `verify` every image header is read)
 * here; their pixels are decoded when a batch asks for them.
 */
export async function openDataset(ref: DataRef, opts: { verify?: boolean } = {}): Promise<Dataset> {
  if (ref.kind === 'fashion-mnist') return fashionDataset(ref.dir);
  // Loaded lazily: listing Fashion-MNIST needs no sharp.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { openImageFolder } = require('./imagefolder') as typeof import('./imagefolder');
  return openImageFolder(ref, opts);
}
