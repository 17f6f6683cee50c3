/**
 * Bring-your-own models: what splitsim needs from a tfjs LayersModel folder that has no
 * meta.json, derived from its graph. The model is built from model.json alone (no weights)
 * to read its input shape, its classes and every layer's output size; every layer whose
 * output is the only tensor crossing to the rest is a possible cut, and the candidate split
 * points are the cuts that send less than any earlier one (see candidateSplitPoints).
 *
 * Sync readers (resolveZooModel, pipeline expansion) find the derived metadata that
 * prepareModel remembered; loading the model (zoo.ts) derives it itself.
 */
import * as fs from 'fs';
import * as path from 'path';
import { UserError } from '../util/errors';
import { analyzeModel, type ModelAnalysis } from './analysis';
import { initBackend, tf } from './backend';
import { registerCustomLayers } from './layers';
import { hashModelFiles, hashOnnxModel, isModelPath, ONNX_FILE, readJson, rememberDerivedMeta, type ZooMeta } from './meta';

/** What the graph of a folder without meta.json gives. */
export interface DerivedInfo {
  from: 'graph';
  /** Every layer at which the model can be cut (one tensor crosses), in network order. */
  cutPoints: string[];
  /** Size of the model output (its classes). */
  classes: number;
}

/** Metadata of a folder without meta.json: the zoo's fields that the graph determines. */
export type DerivedMeta = ZooMeta & { derived: DerivedInfo };

type Json = Record<string, unknown>;

/**
 * The Keras topology object of a model.json ({class_name, config}), unwrapping the
 * `model_config` of files written by keras.Model.save() converters.
 */
export function kerasTopology(raw: unknown, modelFile: string): Json {
  const top = (raw as Json | null)?.modelTopology as Json | undefined;
  const t = (top && typeof top === 'object' && top.model_config && typeof top.model_config === 'object' ? top.model_config : top) as Json | undefined;
  if (!t || typeof t !== 'object' || typeof t.class_name !== 'string' || !t.config) {
    throw new UserError(`${modelFile}: field 'modelTopology': expected a Keras model topology object ({class_name, config})`);
  }
  return t;
}

/** The layer configs of a topology, nested models included. */
function layersOf(t: Json): Array<{ name: string; cls: string; where: string }> {
  const out: Array<{ name: string; cls: string; where: string }> = [];
  const walk = (list: unknown, where: string) => {
    if (!Array.isArray(list)) return;
    for (const l of list as Json[]) {
      const cfg = (l?.config ?? {}) as Json;
      const name = String(l?.name ?? cfg.name ?? '?');
      out.push({ name, cls: String(l?.class_name), where });
      if (Array.isArray(cfg.layers)) walk(cfg.layers, `${where}${name}/`);
    }
  };
  const c = t.config as Json | unknown[];
  walk(Array.isArray(c) ? c : (c as Json).layers, '');
  return out;
}

/**
 * Refuses a topology with a layer class tfjs does not know (neither built in nor one of
 * splitsim's custom layers), naming the layer.
 */
export function checkLayerClasses(t: Json, modelFile: string): void {
  registerCustomLayers();
  const known = tf.serialization.SerializationMap.getMap().classNameMap;
  const bad = layersOf(t).filter((l) => !(l.cls in known));
  if (bad.length > 0) {
    const list = bad.map((l) => `'${l.where}${l.name}' (class ${l.cls})`).join(', ');
    throw new UserError(`${modelFile}: tfjs cannot load layer ${list}: not a tfjs layer class nor one of splitsim's custom layers (GDN, IGDN, LatentQuantizer)`);
  }
}

/** Builds the model of a model.json without its weights (shapes and wiring only). */
async function buildGraph(dir: string): Promise<tf.LayersModel> {
  await initBackend(); // the backend measurement uses (and no tfjs banner on stdout)
  const modelFile = path.join(dir, 'model.json');
  const t = kerasTopology(readJson(modelFile, 'tfjs model file'), modelFile);
  checkLayerClasses(t, modelFile);
  try {
    return await tf.models.modelFromJSON({ modelTopology: t as tf.io.ModelJSON['modelTopology'] });
  } catch (e) {
    throw new UserError(`${modelFile}: tfjs cannot build the model (${(e as Error).message})`);
  }
}

/** Layers that run fused into the layer before them: batch norms and activations. */
function fusesIntoProducer(l: ModelAnalysis['layers'][number]): boolean {
  return l.category === 'normalization' || (l.category === 'elementwise' && l.inbound.length === 1);
}

/**
 * The candidate split points of an analysed model: among its cuts, those at the end of a
 * fused group (not followed by a batch norm or activation that runs fused with it, and not a
 * view such as a reshape of the previous tensor) whose output has fewer elements than the
 * input and every earlier candidate. A later cut that sends as much costs more device compute for no fewer
 * values; any other cut can still be named in a meta.json of the folder.
 */
export function candidateSplitPoints(a: ModelAnalysis): string[] {
  const cuts = new Set(a.splitPoints);
  const consumers = new Map<string, Array<ModelAnalysis['layers'][number]>>();
  for (const l of a.layers) for (const p of l.inbound) consumers.set(p, [...(consumers.get(p) ?? []), l]);
  let smallest = a.inputShape.reduce((x, y) => x * y, 1);
  const out: string[] = [];
  for (const l of a.layers) {
    if (!cuts.has(l.name) || l.category === 'view') continue;
    const next = consumers.get(l.name) ?? [];
    if (next.length === 1 && fusesIntoProducer(next[0])) continue;
    if (l.outputElements < smallest) {
      out.push(l.name);
      smallest = l.outputElements;
    }
  }
  return out;
}

const derivedByHash = new Map<string, Promise<DerivedMeta>>();

/**
 * Derives the metadata of a model folder from its graph: input shape, classes, cut points and
 * candidate split points, size. Refuses (UserError naming the file and the layer or shape) a
 * model tfjs cannot build, with more than one input or output, or an input that is not a
 * fixed [height, width, channels] image.
 */
export function deriveModelMeta(dir: string, hash = hashModelFiles(dir)): Promise<DerivedMeta> {
  let p = derivedByHash.get(hash);
  if (!p) {
    p = (async () => {
      const modelFile = path.join(dir, 'model.json');
      const model = await buildGraph(dir);
      try {
        if (model.inputs.length !== 1 || model.outputs.length !== 1) {
          throw new UserError(`${modelFile}: the model has ${model.inputs.length} inputs and ${model.outputs.length} outputs; splitsim splits single-input, single-output image classifiers`);
        }
        const inShape = model.inputs[0].shape;
        if (inShape.length !== 4 || inShape.slice(1).some((d) => d === null || d <= 0)) {
          throw new UserError(`${modelFile}: input layer '${model.inputLayers[0]?.name ?? model.inputs[0].name}' has shape [${inShape.map((d) => d ?? 'null').join(', ')}]; expected a fixed [batch, height, width, channels] image (export the model with a fixed input size)`);
        }
        const a = analyzeModel(model, 'fp32', path.basename(dir));
        const outShape = model.outputs[0].shape.slice(1).map(Number);
        return {
          name: path.basename(dir),
          kind: 'teacher' as const,
          input: { shape: a.inputShape, mean: 0, std: 1 },
          splitPoints: candidateSplitPoints(a),
          macs: Math.max(1, Math.round(a.totalMacs)),
          params: Math.max(1, a.totalParams),
          pytorchTop1: NaN,
          trainedWith: { derived: 'no meta.json: split points and shapes derived from model.json' },
          files: {},
          derived: { from: 'graph' as const, cutPoints: a.splitPoints, classes: outShape.reduce((x, y) => x * y, 1) },
        };
      } finally {
        model.dispose();
      }
    })();
    derivedByHash.set(hash, p);
    p.catch(() => derivedByHash.delete(hash));
  }
  return p;
}

/** Whether a folder has no meta.json (its metadata is derived from the graph). */
export function needsDerivedMeta(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'model.json')) && !fs.existsSync(path.join(dir, 'meta.json'));
}

/**
 * Makes a model named by folder readable by the sync readers: a folder without meta.json has
 * its metadata derived and remembered (or the reason it cannot be, reported when it is read).
 * Zoo names and folders with meta.json need nothing. `baseDir` resolves relative folders.
 */
export async function prepareModel(nameOrDir: string, baseDir = process.cwd()): Promise<void> {
  if (!isModelPath(nameOrDir)) return;
  const dir = path.resolve(baseDir, nameOrDir);
  const onnx = nameOrDir.endsWith('.onnx') ? dir : path.join(dir, ONNX_FILE);
  if (nameOrDir.endsWith('.onnx') || (!fs.existsSync(path.join(dir, 'model.json')) && fs.existsSync(onnx) && !fs.existsSync(path.join(dir, 'meta.json')))) {
    await prepareOnnxModel(onnx);
    return;
  }
  if (!needsDerivedMeta(dir)) return;
  let hash: string;
  try {
    hash = hashModelFiles(dir);
  } catch {
    return; // the sync reader reports the unreadable folder
  }
  try {
    rememberDerivedMeta(dir, hash, await deriveModelMeta(dir, hash));
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    rememberDerivedMeta(dir, hash, e);
  }
}

/** prepareModel of an ONNX model without meta.json: its metadata from its graph (model/onnx-analysis.ts). */
async function prepareOnnxModel(file: string): Promise<void> {
  let hash: string;
  try {
    hash = hashOnnxModel(file);
  } catch {
    return; // the sync reader reports the unreadable file
  }
  try {
    const { readOnnxFile } = await import('./onnx');
    const { deriveOnnxMeta } = await import('./onnx-analysis');
    const name = path.basename(file) === ONNX_FILE ? path.basename(path.dirname(file)) : path.basename(file, '.onnx');
    rememberDerivedMeta(file, hash, await deriveOnnxMeta(readOnnxFile(file), name));
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    rememberDerivedMeta(file, hash, e);
  }
}

/** prepareModel for each of several models named in one file (folders relative to baseDir). */
export async function prepareModels(namesOrDirs: string[], baseDir: string): Promise<void> {
  for (const m of namesOrDirs) await prepareModel(m, baseDir);
}
