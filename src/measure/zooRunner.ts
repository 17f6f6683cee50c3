/**
 * ModelRunner over a zoo model or a model folder with tfjs: whole-model, head and tail
 * inference in batches on the dataset's pixels (normalised as the dataset declares, or as
 * the model's meta.json input says), and the codec information (entropy prior, fixed
 * quantiser) from its meta.json.
 */
import * as path from 'path';
import type { CodecModelInfo, FactorizedPrior, FixedQuantizer } from '../codecs/feature';
import type { HyperpriorModel } from '../codecs/hyperprior';
import { openDataset } from '../data/dataset';
import { grayNormalization, toNormalizedInput } from '../data/preprocess';
import type { Normalization } from '../data/spec';
import { initBackend, tf } from '../model/backend';
import { splitModel, type SplitModel } from '../model/split';
import { prepareModel } from '../model/derive';
import { modelSource, resolveZooModel, type ZooEntry } from '../model/meta';
import { chooseRuntime, ORT_BACKEND, type RuntimeName } from '../model/runtime';
import { loadZooModel, type ZooModel } from '../model/zoo';
import { inputError } from '../util/errors';
import type { JobEnvironment } from './parallel';
import { argmaxRows, type ModelRunner } from './run';

/** What the feature codecs need from a zoo model's metadata. */
export function codecInfoOf(zm: Pick<ZooModel, 'dir' | 'meta'>): CodecModelInfo {
  const b = zm.meta.bottleneck;
  const metaFile = `${zm.dir}/meta.json`;
  if (!b) return {};
  const info: CodecModelInfo = {};
  if (b.hyperprior && zm.meta.kind !== 'teacher' && zm.meta.kind !== 'channel-reduction') {
    info.hyperprior = { ...(b.hyperprior as unknown as HyperpriorModel), latentShape: [...b.latentShape] };
  } else if (zm.meta.kind === 'student' || zm.meta.kind === 'end-to-end' || zm.meta.kind === 'input-codec') {
    if (!b.entropy || !b.medians) throw inputError(metaFile, 'bottleneck.entropy', `a ${zm.meta.kind} needs its entropy model (entropy, medians)`);
    const prior: FactorizedPrior = { latentShape: [...b.latentShape], medians: b.medians, ...b.entropy };
    info.prior = prior;
  }
  if (zm.meta.kind === 'channel-reduction') {
    if (b.quantBits === undefined || !b.scale || !b.zeroPoint) {
      throw inputError(metaFile, 'bottleneck', 'channel-reduction needs quantBits, scale and zeroPoint');
    }
    const fq: FixedQuantizer = { latentShape: [...b.latentShape], quantBits: b.quantBits, scale: b.scale, zeroPoint: b.zeroPoint };
    info.fixedQuantizer = fq;
  }
  return info;
}

/**
 * Loads a zoo model (or the model folder zooDir/name) and wraps it as a ModelRunner; pixels
 * are normalised with `norm`, by default the model's meta.json input mean and std.
 */
export async function loadZooRunner(name: string, zooDir: string, norm?: Normalization): Promise<ModelRunner> {
  const zm = await loadZooModel(name, zooDir);
  const shape = zm.meta.input.shape;
  const normalization = norm ?? grayNormalization(zm.meta.input);
  const input = (images: Uint8Array, n: number) => toNormalizedInput(images, n, shape, normalization);
  // splitModel builds the tail by re-applying the model's layers, which gives them a second
  // inbound node; a later split of the same model object at a tail layer then fails in tfjs
  // ("multiple inbound nodes"). Each split point therefore gets its own copy of the model.
  const splits = new Map<string, Promise<SplitModel>>();
  const split = (s: string): Promise<SplitModel> => {
    let m = splits.get(s);
    if (!m) splits.set(s, (m = loadZooModel(name, zooDir).then((copy) => splitModel(copy, s))));
    return m;
  };
  const multiHeads = new Map<string, tf.LayersModel>();
  const outputs = (model: tf.LayersModel, x: tf.Tensor): Float32Array => {
    const y = model.predict(x) as tf.Tensor;
    const out = Float32Array.from(y.dataSync() as Float32Array);
    tf.dispose([x, y]);
    return out;
  };
  const logits = async (images: Uint8Array, n: number): Promise<Float32Array> => outputs(zm.model, input(images, n));
  const tailLogits = async (s: string, values: Float32Array, shape: number[], n: number): Promise<Float32Array> => {
    const tail = (await split(s)).tail;
    return outputs(tail, tf.tensor(values, [n, ...shape]));
  };
  return {
    name,
    codecInfo: codecInfoOf(zm),
    classify: async (images, n) => argmaxRows(await logits(images, n), n),
    logits,
    async head(s, images, n) {
      const x = input(images, n);
      const y = (await split(s)).head.predict(x) as tf.Tensor;
      const values = y.dataSync() as Float32Array;
      const shape = y.shape.slice(1);
      tf.dispose([x, y]);
      return { shape, values: Float32Array.from(values) };
    },
    async heads(list, images, n) {
      const key = list.join('\u0000');
      let multi = multiHeads.get(key);
      if (!multi) {
        // A fresh copy: the layers of a model that has been split have extra inbound nodes.
        const copy = await loadZooModel(name, zooDir);
        const outputs = list.map((s) => copy.model.getLayer(s).getOutputAt(0) as tf.SymbolicTensor);
        multiHeads.set(key, (multi = tf.model({ inputs: copy.model.inputs, outputs })));
      }
      const x = input(images, n);
      const ys = multi.predict(x) as tf.Tensor | tf.Tensor[];
      const arr = Array.isArray(ys) ? ys : [ys];
      const out = new Map<string, { shape: number[]; values: Float32Array }>();
      arr.forEach((y, i) => out.set(list[i], { shape: y.shape.slice(1), values: Float32Array.from(y.dataSync() as Float32Array) }));
      tf.dispose([x, ...arr]);
      return out;
    },
    tailClassify: async (s, values, shape, n) => argmaxRows(await tailLogits(s, values, shape, n), n),
    tailLogits,
  };
}

/**
 * The runner of a model on ONNX Runtime: its ONNX file, with the split points and codec data
 * of its meta.json (or of its graph, for a model without one).
 */
export async function loadModelOnnxRunner(name: string, source: string, onnx: string, norm?: Normalization): Promise<ModelRunner> {
  const { loadOnnxRunner } = await import('./onnxRunner');
  await prepareModel(source);
  const e = resolveZooModel(source);
  return loadOnnxRunner(name, onnx, { splits: e.meta.splitPoints, norm: norm ?? grayNormalization(e.meta.input), codecInfo: codecInfoOf(e) });
}

/**
 * The runner of one model (a zoo name or a model folder) on `forced`, or on the runtime
 * measurement would choose for it (model/runtime.ts chooseRuntime: ONNX Runtime where the
 * model has an ONNX file and onnxruntime-node loads, else tfjs; SPLITSIM_RUNTIME forces one),
 * with the backend string its results carry (as measurement results do, to compare them).
 */
export async function loadModelRunner(model: string, zooDir: string, forced?: RuntimeName | 'auto', via?: string): Promise<{ runner: ModelRunner; entry: ZooEntry; backend: string }> {
  await prepareModel(model);
  const entry = resolveZooModel(model, zooDir);
  const runtime = chooseRuntime({ where: modelSource(entry), tfjs: entry.tfjs, onnx: entry.onnx?.file }, forced, via);
  if (runtime === 'onnxruntime') return { runner: await loadModelOnnxRunner(entry.name, modelSource(entry), entry.onnx!.file), entry, backend: ORT_BACKEND };
  const backend = await initBackend();
  return { runner: await loadZooRunner(path.basename(entry.dir), path.dirname(entry.dir)), entry, backend };
}

/** The job environment of real measurements: the chosen tfjs backend or ONNX Runtime, model folders, datasets. */
export const zooEnvironment: JobEnvironment = {
  init: () => initBackend(),
  loadData: (data, opts) => openDataset(data, opts),
  loadRunner: (name, zooDir, data, runtime) => runtime?.runtime === 'onnxruntime'
    ? loadModelOnnxRunner(name, runtime.source ?? path.join(zooDir, name), runtime.onnx!, data.normalization)
    : loadZooRunner(path.basename(name), zooDir, data.normalization),
};
