import * as fs from 'fs';
import * as path from 'path';
import type { CommandModule } from 'yargs';
import { loadFashionMnistTest, toModelInput } from '../data/fashion';
import { initBackend, tf } from '../model/backend';
import { splitModel } from '../model/split';
import { DEFAULT_ZOO_DIR, loadModelDir, loadZooModel, type ZooModel } from '../model/zoo';
import { UserError } from '../util/errors';
import { SPLITSIM_VERSION } from '../util/version';

interface ZooArgs {
  model: string;
  split?: string;
  samples: number;
  json: boolean;
  zoo: string;
  data?: string;
}

/** Result of `splitsim zoo`: what ran, on which backend, and how well. */
export interface ZooEvalResult {
  splitsimVersion: string;
  backend: string;
  model: string;
  dir: string;
  modelHash: string;
  kind: string;
  splitPoint: string | null;
  samples: number;
  top1: number;
  pytorchTop1: number;
  headLayers?: number;
  tailLayers?: number;
  splitOutputShape?: number[];
  maxAbsDiffSplitVsFull?: number;
}

/** Runs model (optionally split) on the first n test images and returns top-1. */
export async function evaluateZooModel(zm: ZooModel, splitPoint: string | undefined, n: number, dataDir?: string): Promise<Omit<ZooEvalResult, 'splitsimVersion' | 'backend'>> {
  const set = loadFashionMnistTest(dataDir);
  if (n > set.n) throw new UserError(`--samples ${n}: the test set has only ${set.n} images`);
  const split = splitPoint !== undefined ? splitModel(zm, splitPoint) : undefined;
  let correct = 0;
  let maxDiff = 0;
  let splitShape: number[] | undefined;
  const batch = 250;
  for (let start = 0; start < n; start += batch) {
    const idx = Array.from({ length: Math.min(batch, n - start) }, (_, i) => start + i);
    const pred = tf.tidy(() => {
      const x = toModelInput(set, idx, zm.meta.input);
      let logits: tf.Tensor;
      if (split) {
        const mid = split.head.predict(x) as tf.Tensor;
        splitShape = mid.shape.slice(1);
        logits = split.tail.predict(mid) as tf.Tensor;
        const full = zm.model.predict(x) as tf.Tensor;
        maxDiff = Math.max(maxDiff, tf.max(tf.abs(tf.sub(full, logits))).dataSync()[0]);
      } else {
        logits = zm.model.predict(x) as tf.Tensor;
      }
      return tf.argMax(logits, 1).dataSync();
    });
    idx.forEach((j, k) => {
      if (pred[k] === set.labels[j]) correct++;
    });
  }
  return {
    model: zm.name,
    dir: zm.dir,
    modelHash: zm.hash,
    kind: zm.meta.kind,
    splitPoint: splitPoint ?? null,
    samples: n,
    top1: correct / n,
    pytorchTop1: zm.meta.pytorchTop1,
    ...(split
      ? { headLayers: split.head.layers.length, tailLayers: split.tail.layers.length, splitOutputShape: splitShape, maxAbsDiffSplitVsFull: maxDiff }
      : {}),
  };
}

const command: CommandModule<object, ZooArgs> = {
  command: 'zoo',
  describe: 'Load a zoo model, optionally split it, and evaluate top-1 on Fashion-MNIST test images',
  builder: (y) =>
    y
      .option('model', { type: 'string', default: 'teacher', describe: 'zoo model name, or a path to a model folder' })
      .option('split', { type: 'string', describe: 'split point (layer name from meta.json splitPoints)' })
      .option('samples', { type: 'number', default: 1000, describe: 'number of test images (first N)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON' })
      .option('zoo', { type: 'string', default: DEFAULT_ZOO_DIR, describe: 'zoo folder' })
      .option('data', { type: 'string', describe: 'folder with t10k-*-idx*-ubyte.gz (default: the package data/)' }) as never,
  handler: async (args) => {
    if (!Number.isInteger(args.samples) || args.samples < 1) {
      throw new UserError(`--samples: expected a positive integer, got ${String(args.samples)}`);
    }
    const backend = await initBackend();
    const isDir = args.model.includes(path.sep) || args.model.includes('/');
    if (isDir && !fs.existsSync(args.model)) throw new UserError(`${args.model}: model folder not found`);
    const zm = isDir ? await loadModelDir(args.model) : await loadZooModel(args.model, args.zoo);
    const r: ZooEvalResult = {
      splitsimVersion: SPLITSIM_VERSION,
      backend,
      ...(await evaluateZooModel(zm, args.split, args.samples, args.data)),
    };
    if (args.json) {
      process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    } else {
      const lines = [
        `model ${r.model} (${r.kind}) from ${r.dir}, sha256 ${r.modelHash.slice(0, 16)}…`,
        `backend ${r.backend}`,
        r.splitPoint
          ? `split at '${r.splitPoint}': head ${r.headLayers} layers -> [${r.splitOutputShape?.join(',')}] -> tail ${r.tailLayers} layers; max |split - full| logits ${r.maxAbsDiffSplitVsFull?.toExponential(2)}`
          : 'unsplit',
        `top-1 on the first ${r.samples} test images: ${(100 * r.top1).toFixed(2)}% (PyTorch, all 10k: ${(100 * r.pytorchTop1).toFixed(2)}%)`,
      ];
      process.stdout.write(lines.join('\n') + '\n');
    }
  },
};

export default command;
