import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { initBackend, tf } from '../../src/model/backend';
import { LatentQuantizer } from '../../src/model/layers';

/**
 * A miniature model zoo in the contract's format (models/<name>/{model.json, shard, meta.json},
 * index.json): a small "teacher" CNN with two split points, a "student" with a LatentQuantizer
 * bottleneck and a Laplacian factorized prior, and a "channel-reduction" model with a fixed
 * 8-bit quantiser. Weights are seeded, so every build is identical; the models are untrained
 * (accuracy near chance), which is all the measurement machinery needs.
 */

const INPUT = { shape: [28, 28, 1], mean: 0.286, std: 0.353 };

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

async function writeModel(dir: string, model: tf.LayersModel, meta: Record<string, unknown>): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (a) => {
    artifacts = a;
    return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
  }));
  const shard = new Uint8Array(artifacts!.weightData as ArrayBuffer);
  const modelJson = Buffer.from(JSON.stringify({
    format: 'layers-model',
    generatedBy: 'splitsim test fixture',
    modelTopology: artifacts!.modelTopology,
    weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: artifacts!.weightSpecs }],
  }));
  fs.writeFileSync(path.join(dir, 'model.json'), modelJson);
  fs.writeFileSync(path.join(dir, 'group1-shard1of1.bin'), shard);
  const full = {
    input: INPUT,
    macs: 1000,
    params: model.countParams(),
    pytorchTop1: 0.1,
    trainedWith: { fixture: true },
    files: { 'model.json': sha256(modelJson), 'group1-shard1of1.bin': sha256(shard) },
    ...meta,
  };
  fs.writeFileSync(path.join(dir, 'meta.json'), JSON.stringify(full, null, 1));
}

function conv(filters: number, kernelSize: number, strides: number, name: string, seed: number): tf.layers.Layer {
  return tf.layers.conv2d({
    filters, kernelSize, strides, padding: 'same', name, activation: 'relu',
    kernelInitializer: tf.initializers.glorotUniform({ seed }), biasInitializer: tf.initializers.constant({ value: 0.05 }),
  });
}

/** Laplacian factorized prior over [minQ, minQ+n-1] plus escape, per channel. */
function laplacePrior(scales: number[], minQ: number, n: number): { cdfs: number[][]; pmfs: number[][] } {
  const cdfs: number[][] = [];
  const pmfs: number[][] = [];
  for (const b of scales) {
    const p: number[] = [];
    for (let k = 0; k < n; k++) {
      const q = minQ + k;
      p.push(Math.exp(-Math.abs(q) / b));
    }
    const tail = 1e-3;
    const total = p.reduce((a, x) => a + x, 0);
    const pm = [...p.map((x) => (x / total) * (1 - tail)), tail];
    const f = pm.map((x) => Math.max(1, Math.floor(x * (65536 - pm.length))));
    f[Math.floor(n / 2)] += 65536 - f.reduce((a, x) => a + x, 0);
    const cdf = [0];
    for (const x of f) cdf.push(cdf[cdf.length - 1] + x);
    cdfs.push(cdf);
    pmfs.push(pm);
  }
  return { cdfs, pmfs };
}

/** Global average pooling ('pool') then a 10-way dense layer ('fc') with seeded weights. */
function poolFc(x: tf.SymbolicTensor, seed: number): tf.SymbolicTensor {
  const p = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(x) as tf.SymbolicTensor;
  return tf.layers.dense({ units: 10, name: 'fc', kernelInitializer: tf.initializers.glorotUniform({ seed }) }).apply(p) as tf.SymbolicTensor;
}

/** Builds the miniature zoo under `zooDir`; returns the model names. */
export async function buildFixtureZoo(zooDir: string): Promise<string[]> {
  await initBackend();
  // teacher: stem (28x28x4) -> stage1 (14x14x8) -> pool -> fc
  {
    const x = tf.input({ shape: [28, 28, 1] });
    const s = conv(4, 3, 1, 'stem', 1).apply(x) as tf.SymbolicTensor;
    const s1 = conv(8, 3, 2, 'stage1', 2).apply(s) as tf.SymbolicTensor;
    const y = poolFc(s1, 3);
    await writeModel(path.join(zooDir, 'teacher'), tf.model({ inputs: x, outputs: y, name: 'teacher' }), {
      name: 'teacher', kind: 'teacher', splitPoints: ['stem', 'stage1'],
    });
  }
  // student: enc (7x7x3) -> latent (LatentQuantizer) -> dec -> pool -> fc
  {
    const medians = [0.25, -0.5, 0.0];
    const x = tf.input({ shape: [28, 28, 1] });
    const e = tf.layers.conv2d({
      filters: 3, kernelSize: 5, strides: 4, padding: 'same', name: 'enc',
      kernelInitializer: tf.initializers.randomNormal({ mean: 0, stddev: 0.5, seed: 4 }),
    }).apply(x) as tf.SymbolicTensor;
    const lq = new LatentQuantizer({ channels: 3, name: 'latent' });
    const z = lq.apply(e) as tf.SymbolicTensor;
    const d = conv(8, 3, 1, 'dec', 5).apply(z) as tf.SymbolicTensor;
    const y = poolFc(d, 6);
    const model = tf.model({ inputs: x, outputs: y, name: 'student' });
    lq.setWeights([tf.tensor1d(medians)]);
    const minQ = -12;
    const n = 25;
    const { cdfs, pmfs } = laplacePrior([1.5, 2.5, 1.0], minQ, n);
    await writeModel(path.join(zooDir, 'student-b1'), model, {
      name: 'student-b1', kind: 'student', splitPoints: ['latent'], beta: 1,
      bottleneck: {
        layer: 'latent', latentShape: [7, 7, 3], medians,
        entropy: { precision: 16, minQ: [minQ, minQ, minQ], lengths: [n + 1, n + 1, n + 1], cdfs, pmfs, likelihoodBound: 1e-9 },
        estimatedBytesPerImage: 30,
      },
    });
  }
  // channel-reduction: reduce (7x7x2) -> dec -> pool -> fc
  {
    const x = tf.input({ shape: [28, 28, 1] });
    const r = conv(2, 5, 4, 'reduce', 7).apply(x) as tf.SymbolicTensor;
    const d = conv(8, 3, 1, 'dec', 8).apply(r) as tf.SymbolicTensor;
    const y = poolFc(d, 9);
    await writeModel(path.join(zooDir, 'channel-reduction'), tf.model({ inputs: x, outputs: y, name: 'cr' }), {
      name: 'channel-reduction', kind: 'channel-reduction', splitPoints: ['reduce'],
      bottleneck: { layer: 'reduce', latentShape: [7, 7, 2], quantBits: 8, scale: [0.02, 0.03], zeroPoint: [0, 0] },
    });
  }
  const names = ['teacher', 'student-b1', 'channel-reduction'];
  fs.writeFileSync(path.join(zooDir, 'index.json'), JSON.stringify({ models: names }));
  return names;
}
