import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { initBackend, tf } from '../../src/model/backend';

/**
 * Small image folders and models made by the tests: JPEG/PNG images of seeded coloured
 * patterns (class k: a distinct hue and stripe period), of varied sizes and aspect ratios, and
 * a tiny untrained RGB classifier saved as a bare tfjs LayersModel folder (no meta.json).
 */

/** Deterministic pseudo-random bytes (xorshift32). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x / 4294967296;
  };
}

/** An RGB image of class k: stripes of the class's colour over seeded noise. */
export async function patternImage(k: number, seed: number, width: number, height: number, format: 'jpeg' | 'png' = 'jpeg'): Promise<Buffer> {
  const r = rng(seed * 7919 + k * 104729 + 1);
  const px = Buffer.alloc(width * height * 3);
  const colour = [(k * 97) % 256, (k * 53 + 80) % 256, (k * 181 + 40) % 256];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const on = Math.floor((x + y * (k % 3)) / (3 + k)) % 2 === 0;
      for (let c = 0; c < 3; c++) px[(y * width + x) * 3 + c] = on ? colour[c] : Math.floor(r() * 256);
    }
  }
  const img = sharp(px, { raw: { width, height, channels: 3 } });
  return format === 'png' ? img.png().toBuffer() : img.jpeg({ quality: 90 }).toBuffer();
}

/** Sizes of the images of a folder: shorter side 36..48, landscape and portrait. */
export function sizeOf(i: number): [number, number] {
  return i % 2 === 0 ? [40 + (i % 5) * 2, 36 + (i % 3) * 4] : [36 + (i % 4) * 3, 44 + (i % 2) * 4];
}

/**
 * Writes `perClass` images for each of `classes` classes under dir/images/ and a labels file
 * dir/labels.txt ('images/NAME, label'); returns the labels file lines.
 */
export async function writeLabelledFolder(dir: string, classes: number, perClass: number): Promise<string[]> {
  fs.mkdirSync(path.join(dir, 'images'), { recursive: true });
  const lines: string[] = [];
  let i = 0;
  for (let s = 0; s < perClass; s++) {
    for (let k = 0; k < classes; k++, i++) {
      const [w, h] = sizeOf(i);
      const name = `img_${String(i).padStart(4, '0')}.${i % 7 === 3 ? 'png' : 'jpg'}`;
      fs.writeFileSync(path.join(dir, 'images', name), await patternImage(k, s, w, h, i % 7 === 3 ? 'png' : 'jpeg'));
      lines.push(`images/${name}, ${k}`);
    }
  }
  fs.writeFileSync(path.join(dir, 'labels.txt'), lines.join('\n') + '\n');
  return lines;
}

/**
 * Saves a small untrained RGB classifier (input size x size x 3, `classes` outputs; conv-bn-relu
 * stages, global pooling, dense) to dir as model.json + one shard, without meta.json.
 */
export async function writeBareModel(dir: string, size = 32, classes = 4): Promise<void> {
  await initBackend();
  const x = tf.input({ shape: [size, size, 3], name: 'image' });
  let h = x as tf.SymbolicTensor;
  const block = (filters: number, strides: number, name: string, seed: number) => {
    h = tf.layers.conv2d({ filters, kernelSize: 3, strides, padding: 'same', useBias: false, name, kernelInitializer: tf.initializers.glorotUniform({ seed }) }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.batchNormalization({ name: `${name}_bn` }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.activation({ activation: 'relu', name: `${name}_relu` }).apply(h) as tf.SymbolicTensor;
  };
  block(8, 2, 'conv1', 1); // 16x16x8 = 2048 < 3072
  block(16, 1, 'conv2', 2); // 16x16x16: larger, not a candidate
  block(16, 2, 'conv3', 3); // 8x8x16 = 1024
  const p = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(h) as tf.SymbolicTensor; // 16
  const y = tf.layers.dense({ units: classes, activation: 'softmax', name: 'fc', kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }).apply(p) as tf.SymbolicTensor;
  const model = tf.model({ inputs: x, outputs: y, name: 'bare' });
  fs.mkdirSync(dir, { recursive: true });
  await model.save(tf.io.withSaveHandler(async (a) => {
    fs.writeFileSync(path.join(dir, 'group1-shard1of1.bin'), Buffer.from(a.weightData as ArrayBuffer));
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({
      format: 'layers-model', generatedBy: 'splitsim test', modelTopology: a.modelTopology,
      weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: a.weightSpecs }],
    }));
    return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
  }));
  model.dispose();
}
