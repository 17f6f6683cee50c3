/**
 * Resolves the --model argument of hardware commands: a reference architecture name
 * (analysed without weights), a zoo model name (models/<name>/model.json) or a path to a
 * tfjs model.json or to the model folder holding it.
 */
import * as fs from 'fs';
import * as path from 'path';
import { analyzeModel, analyzeGraph, type ModelAnalysis, type Precision } from '../model/analysis';
import { tf } from '../model/backend';
import { registerCustomLayers } from '../model/layers';
import { REFERENCE_NAMES, referenceGraph } from '../model/reference';
import { listZooModels, ONNX_FILE, readShard, ZOO_DIR } from '../model/meta';
import { loadZooModel } from '../model/zoo';
import { checkRegularFile } from '../config/load';
import { UserError } from '../util/errors';

export { ZOO_DIR };

/** Zoo model names (models/index.json; none when the zoo has no index). */
export function listZooNames(zooDir = ZOO_DIR): string[] {
  return fs.existsSync(path.join(zooDir, 'index.json')) ? listZooModels(zooDir) : [];
}

/** Loads a tfjs LayersModel from a model.json on disk (weights from the shards it lists). */
export async function loadLayersModelFile(jsonPath: string): Promise<tf.LayersModel> {
  registerCustomLayers(); // GDN, IGDN, LatentQuantizer
  let json: {
    modelTopology?: unknown;
    weightsManifest?: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
  };
  try {
    checkRegularFile(jsonPath, 'model file', 256 * 1024 * 1024);
    json = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
  } catch (e) {
    if (e instanceof UserError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`${jsonPath}: ${code === 'ENOENT' ? 'model file not found' : `not a readable model.json (${(e as Error).message})`}`);
  }
  if (!json.modelTopology) throw new UserError(`${jsonPath}: field 'modelTopology': missing (not a tfjs layers model)`);
  const dir = path.dirname(jsonPath);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Buffer[] = [];
  for (const group of json.weightsManifest ?? []) {
    for (const p of group.paths) buffers.push(readShard(dir, p, jsonPath));
    specs.push(...group.weights);
  }
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  try {
    return await tf.loadLayersModel(
      tf.io.fromMemory({ modelTopology: json.modelTopology as object, weightSpecs: specs, weightData }),
    );
  } catch (e) {
    throw new UserError(`${jsonPath}: cannot load as a tfjs LayersModel: ${(e as Error).message}`);
  }
}

/** Loads a zoo model through the zoo loader (which checks shard hashes and metadata). */
export async function loadZooLayersModel(name: string, zooDir = ZOO_DIR): Promise<tf.LayersModel> {
  return (await loadZooModel(name, zooDir)).model;
}

/** analyzeModelSpec of an ONNX file (shapes from one ONNX Runtime run; unknown operators warned about on stderr). */
async function analyzeOnnxSpec(file: string, name: string, kind: 'zoo' | 'file', options: { inputSize?: number; precision?: Precision }): Promise<ModelSource> {
  const { readOnnxFile } = await import('../model/onnx');
  const { analyzeOnnx, unknownOperatorsWarning } = await import('../model/onnx-analysis');
  const f = readOnnxFile(file);
  if (options.inputSize !== undefined && f.imageShape[0] !== options.inputSize) {
    throw new UserError(`--input ${options.inputSize} applies to reference models only; ${file} has a fixed input of ${f.imageShape.join('x')}`);
  }
  const { analysis, unknown } = await analyzeOnnx(f, options.precision ?? 'fp32', name);
  process.stderr.write(unknownOperatorsWarning(file, unknown));
  return { kind, name, analysis };
}

/** What --model resolved to. */
export interface ModelSource {
  kind: 'reference' | 'zoo' | 'file';
  name: string;
  analysis: ModelAnalysis;
}

/**
 * Analyses the model named by --model at a precision. Reference networks take a square
 * input size (default 224); zoo and file models have fixed input shapes.
 */
export async function analyzeModelSpec(
  spec: string,
  options: { inputSize?: number; precision?: Precision; zooDir?: string } = {},
): Promise<ModelSource> {
  const precision = options.precision ?? 'fp32';
  if (REFERENCE_NAMES.includes(spec)) {
    const size = options.inputSize ?? 224;
    if (!Number.isInteger(size) || size < 32) throw new UserError(`--input must be an integer of at least 32 (got ${size})`);
    return { kind: 'reference', name: spec, analysis: analyzeGraph(referenceGraph(spec, size), precision) };
  }
  const zooDir = options.zooDir ?? ZOO_DIR;
  const isPath = spec.endsWith('.json') || spec.endsWith('.onnx') || spec.includes('/') || spec.includes(path.sep);
  // A model folder stands for its model.json, or its model.onnx when it has no model.json.
  if (isPath && fs.existsSync(spec) && fs.statSync(spec).isDirectory()) {
    spec = path.join(spec, fs.existsSync(path.join(spec, 'model.json')) || !fs.existsSync(path.join(spec, ONNX_FILE)) ? 'model.json' : ONNX_FILE);
  }
  const zooJson = path.join(zooDir, spec, 'model.json');
  if (!isPath && !fs.existsSync(zooJson) && fs.existsSync(path.join(zooDir, spec, ONNX_FILE))) return analyzeOnnxSpec(path.join(zooDir, spec, ONNX_FILE), spec, 'zoo', options);
  if (isPath && spec.endsWith('.onnx')) {
    const file = path.resolve(spec);
    return analyzeOnnxSpec(file, path.basename(file) === ONNX_FILE ? path.basename(path.dirname(file)) : path.basename(file, '.onnx'), 'file', options);
  }
  if (!isPath && !fs.existsSync(zooJson)) {
    const zoo = listZooNames(zooDir);
    throw new UserError(
      `unknown model '${spec}': reference models are ${REFERENCE_NAMES.join(', ')}; ` +
        `zoo models are ${zoo.length ? zoo.join(', ') : `(none under ${zooDir})`}; or give a path to a model.json`,
    );
  }
  const model = isPath ? await loadLayersModelFile(spec) : await loadZooLayersModel(spec, zooDir);
  try {
    const name = isPath ? path.basename(path.dirname(path.resolve(spec))) : spec;
    const analysis = analyzeModel(model, precision, name);
    if (options.inputSize !== undefined && analysis.inputShape[0] !== options.inputSize) {
      throw new UserError(
        `--input ${options.inputSize} applies to reference models only; ${spec} has a fixed input of ${analysis.inputShape.join('x')}`,
      );
    }
    return { kind: isPath ? 'file' : 'zoo', name, analysis };
  } finally {
    model.dispose();
  }
}
