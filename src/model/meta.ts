/**
 * meta.json of a zoo model: its schema and reader. Kept apart from zoo.ts (which loads tfjs)
 * so that reading the zoo's index and metadata costs no backend start-up.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { z } from 'zod';
import { checkRegularFile, formatZodError } from '../config/load';
import { UserError } from '../util/errors';
import { PACKAGE_ROOT } from '../util/version';
import { hyperpriorProblem, type HyperpriorModel } from '../codecs/hyperprior';

/**
 * Kinds of zoo model: the teacher, the SC2 students (factorized prior), the channel-reduction
 * baseline, End-to-End models (a factorized bottleneck trained without a teacher), students
 * with a mean-scale hyperprior, and neural input codecs (a learned image codec in front of the
 * teacher: the device runs the codec's analysis, the server its synthesis and the teacher).
 */
export const MODEL_KINDS = ['teacher', 'student', 'channel-reduction', 'end-to-end', 'hyperprior-student', 'input-codec'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

/** Folder of the committed model zoo. */
export const ZOO_DIR = path.join(PACKAGE_ROOT, 'models');

const entropySchema = z.object({
  precision: z.number().int().min(1).max(31),
  minQ: z.array(z.number().int()),
  lengths: z.array(z.number().int().min(2)),
  cdfs: z.array(z.array(z.number().int().nonnegative())),
  pmfs: z.array(z.array(z.number().nonnegative())),
  likelihoodBound: z.number().positive(),
});

const hyperLayerSchema = z.object({
  op: z.enum(['abs', 'relu', 'conv', 'convT']),
  inChannels: z.number().int().positive().optional(),
  outChannels: z.number().int().positive().optional(),
  kernel: z.number().int().positive().optional(),
  stride: z.number().int().positive().optional(),
  pad: z.number().int().nonnegative().optional(),
  weight: z.array(z.number()).optional(),
  bias: z.array(z.number()).optional(),
}).passthrough().superRefine((l, ctx) => {
  if (l.op !== 'conv' && l.op !== 'convT') return;
  for (const k of ['inChannels', 'outChannels', 'kernel', 'stride', 'pad', 'weight', 'bias'] as const) {
    if (l[k] === undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [k], message: `a ${l.op} layer needs ${k}` });
  }
  if (l.weight && l.inChannels && l.outChannels && l.kernel && l.weight.length !== l.inChannels * l.outChannels * l.kernel * l.kernel) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['weight'], message: `${l.weight.length} values, expected in x out x k x k = ${l.inChannels * l.outChannels * l.kernel * l.kernel}` });
  }
  if (l.bias && l.outChannels && l.bias.length !== l.outChannels) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['bias'], message: `${l.bias.length} values for ${l.outChannels} output channels` });
  }
});

/** bottleneck.hyperprior of a hyperprior model (training/export_methods.py; codecs/hyperprior.ts). */
const hyperpriorSchema = z.object({
  means: z.boolean(),
  scaleBound: z.number().positive(),
  scaleTable: z.array(z.number().positive()).min(2),
  scaleRange: z.tuple([z.number().positive(), z.number().positive()]),
  likelihoodBound: z.number().positive(),
  gaussian: z.object({
    precision: z.number().int().min(1).max(31),
    tailMass: z.number().positive(),
    centers: z.array(z.number().int().nonnegative()),
    cdfs: z.array(z.array(z.number().int().nonnegative())),
  }),
  z: z.object({
    latentShape: z.tuple([z.number().int().positive(), z.number().int().positive(), z.number().int().positive()]),
    medians: z.array(z.number()),
    entropy: entropySchema,
  }),
  analysis: z.array(hyperLayerSchema).min(1),
  synthesis: z.array(hyperLayerSchema).min(1),
}).passthrough();

const bottleneckSchema = z.object({
  layer: z.string(),
  latentShape: z.tuple([z.number().int().positive(), z.number().int().positive(), z.number().int().positive()]),
  medians: z.array(z.number()).optional(),
  entropy: entropySchema.optional(),
  estimatedBytesPerImage: z.number().nonnegative().optional(),
  quantBits: z.number().int().optional(),
  scale: z.array(z.number()).optional(),
  zeroPoint: z.array(z.number()).optional(),
  hyperprior: hyperpriorSchema.optional(),
}).passthrough();

/** meta.json of a zoo model (see notes/zoo-contract.md); unknown extra fields are kept. */
export const zooMetaSchema = z.object({
  name: z.string(),
  kind: z.enum(MODEL_KINDS),
  input: z.object({ shape: z.array(z.number().int().positive()), mean: z.number(), std: z.number().positive() }),
  splitPoints: z.array(z.string()).min(1),
  macs: z.number().int().positive(),
  params: z.number().int().positive(),
  pytorchTop1: z.number().min(0).max(1),
  bottleneck: bottleneckSchema.optional(),
  beta: z.number().optional(),
  trainedWith: z.record(z.unknown()),
  files: z.record(z.string()),
}).passthrough().superRefine((m, ctx) => {
  if (m.kind !== 'teacher' && !m.bottleneck) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['bottleneck'], message: `a ${m.kind} needs its bottleneck (layer, latentShape)` });
    return;
  }
  // Models whose method is a learned entropy model must carry its tables: a factorized prior
  // (medians, entropy) or a hyperprior whose scale table covers the scales it produces.
  const b = m.bottleneck;
  if (!b || m.kind === 'teacher' || m.kind === 'channel-reduction') return;
  if (b.hyperprior) {
    const why = hyperpriorProblem({ ...(b.hyperprior as unknown as HyperpriorModel), latentShape: [...b.latentShape] });
    if (why) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['bottleneck', 'hyperprior', ...why.field.split('.')], message: why.message });
  } else if (m.kind === 'hyperprior-student') {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['bottleneck', 'hyperprior'], message: 'a hyperprior-student needs its hyperprior (networks, scale table, Gaussian and side-information tables)' });
  } else if (!b.entropy || !b.medians) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['bottleneck', b.entropy ? 'medians' : 'entropy'], message: `a ${m.kind} needs its entropy tables (bottleneck.entropy and bottleneck.medians, or bottleneck.hyperprior)` });
  }
});

/** Parsed meta.json. */
export type ZooMeta = z.infer<typeof zooMetaSchema>;

/** Reads a JSON file; a missing, unreadable or malformed file is a UserError naming it. */
export function readJson(file: string, what: string): unknown {
  let text: string;
  checkRegularFile(file, what, 256 * 1024 * 1024);
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`${file}: ${what} ${code === 'ENOENT' ? 'not found' : `cannot be read (${code ?? String(e)})`}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UserError(`${file}: ${what} is not valid JSON (${(e as Error).message})`);
  }
}

/** Reads and validates `<dir>/meta.json`. */
export function readZooMeta(dir: string): ZooMeta {
  const file = path.join(dir, 'meta.json');
  const parsed = zooMetaSchema.safeParse(readJson(file, 'model metadata'));
  if (!parsed.success) throw new UserError(formatZodError(parsed.error, file));
  return parsed.data;
}

/** Names of the zoo models in their stable order (models/index.json: {"models": [...]}). */
export function listZooModels(zooDir: string = ZOO_DIR): string[] {
  const file = path.join(zooDir, 'index.json');
  const parsed = z.object({ models: z.array(z.string().min(1)) }).safeParse(readJson(file, 'zoo index'));
  if (!parsed.success) throw new UserError(formatZodError(parsed.error, file));
  return parsed.data.models;
}

/**
 * The content hash of a model folder, the one model hash of splitsim: SHA-256 over
 * model.json, the weight shards in manifest order and meta.json (its entropy tables and
 * quantisers change coded bytes), each length-prefixed.
 */
export function hashModelFiles(dir: string): string {
  const { h, add } = lengthPrefixedHash();
  const modelFile = path.join(dir, 'model.json');
  const modelBytes = fs.readFileSync(modelFile);
  add('model.json', modelBytes);
  let manifest: Array<{ paths?: unknown }> = [];
  try {
    manifest = (JSON.parse(modelBytes.toString('utf8')) as { weightsManifest?: Array<{ paths?: unknown }> }).weightsManifest ?? [];
  } catch (e) {
    throw new UserError(`${modelFile}: not valid JSON (${(e as Error).message})`);
  }
  for (const group of manifest) {
    for (const p of Array.isArray(group.paths) ? group.paths : []) add(String(p), readShard(dir, String(p), modelFile));
  }
  const metaFile = path.join(dir, 'meta.json');
  if (fs.existsSync(metaFile)) add('meta.json', fs.readFileSync(metaFile));
  return h.digest('hex');
}

/** A SHA-256 whose parts are added as name:length:bytes. */
function lengthPrefixedHash(): { h: ReturnType<typeof createHash>; add: (name: string, bytes: Buffer) => void } {
  const h = createHash('sha256');
  return { h, add: (name, bytes) => { h.update(`${name}:${bytes.length}:`); h.update(bytes); } };
}

/**
 * The content hash of an ONNX model (what its results record and its cache keys use):
 * SHA-256 over the .onnx file and, for a zoo folder's model.onnx, its meta.json, each
 * length-prefixed as in hashModelFiles.
 */
export function hashOnnxModel(file: string, metaFile?: string): string {
  const { h, add } = lengthPrefixedHash();
  checkRegularFile(file, 'ONNX model', MAX_SHARD_BYTES);
  add(path.basename(file), fs.readFileSync(file));
  if (metaFile && fs.existsSync(metaFile)) add('meta.json', fs.readFileSync(metaFile));
  return h.digest('hex');
}

/** Largest weight shard read (2 GB). */
const MAX_SHARD_BYTES = 2 * 1024 * 1024 * 1024;

/**
 * Reads a weight shard named in a model.json: it must stay inside the model folder (no
 * '../' or absolute paths, no symbolic link out of it) and be a regular file.
 */
export function readShard(dir: string, rel: string, modelFile: string): Buffer {
  const base = fs.realpathSync(dir);
  const file = path.resolve(dir, rel);
  if (path.isAbsolute(rel) || path.relative(path.resolve(dir), file).startsWith('..')) {
    throw new UserError(`${modelFile}: field 'weightsManifest': shard path '${rel}' leaves the model folder ${dir}`);
  }
  if (!fs.existsSync(file)) throw new UserError(`${file}: weight shard listed in ${modelFile} not found`);
  const real = fs.realpathSync(file);
  if (path.relative(base, real).startsWith('..')) throw new UserError(`${modelFile}: field 'weightsManifest': shard '${rel}' links outside the model folder (${real})`);
  checkRegularFile(real, 'weight shard', MAX_SHARD_BYTES);
  return fs.readFileSync(real);
}

/** A zoo model as read without tfjs: its folder, metadata and content hash. */
export interface ZooEntry {
  name: string;
  dir: string;
  meta: ZooMeta;
  /** The content hash of its tfjs files (hashModelFiles), or of its ONNX file when it has no model.json. */
  hash: string;
  /** Whether it has a tfjs LayersModel (model.json). */
  tfjs: boolean;
  /** Its ONNX file (model.onnx of the folder, or the .onnx file named) and that file's hash (hashOnnxModel). */
  onnx?: { file: string; hash: string };
}

/** File name of a model folder's ONNX model. */
export const ONNX_FILE = 'model.onnx';

/** The path a model is read from: its folder, or the .onnx file named on its own. */
export function modelSource(e: ZooEntry): string {
  return e.onnx && !e.tfjs && e.onnx.file !== path.join(e.dir, ONNX_FILE) ? e.onnx.file : e.dir;
}

/** Metadata derived from the graphs of folders without meta.json (model/derive.ts), or why not. */
const derivedMetas = new Map<string, ZooMeta | UserError>();

/** Remembers what model/derive.ts derived for a folder without meta.json (by folder and hash). */
export function rememberDerivedMeta(dir: string, hash: string, meta: ZooMeta | UserError): void {
  derivedMetas.set(`${path.resolve(dir)}\0${hash}`, meta);
}

/**
 * meta.json of a folder, or the metadata derived from the graph of its model (prepareModel),
 * remembered under `key` (the folder, or the ONNX file of a model without model.json).
 */
function metaOf(dir: string, key: string, hash: string, withMeta = true): ZooMeta {
  if (withMeta && fs.existsSync(path.join(dir, 'meta.json'))) return readZooMeta(dir);
  const d = derivedMetas.get(`${path.resolve(key)}\0${hash}`);
  if (d instanceof UserError) throw d;
  if (!d) throw new Error(`${key}: no meta.json, and its graph was not analysed (model/derive.ts prepareModel) before it was read`);
  return d;
}

/** Whether a model named on the command line or in a scenario is a path (not a zoo name). */
export function isModelPath(nameOrDir: string): boolean {
  return nameOrDir.includes('/') || nameOrDir.includes(path.sep) || nameOrDir.endsWith('.onnx');
}

/**
 * Resolves a model named in a scenario or on the command line: a zoo name (a folder of
 * zooDir listed in its index) or a path to a model folder with model.json, and meta.json or
 * the metadata model/derive.ts derived from its graph.
 */
export function resolveZooModel(nameOrDir: string, zooDir: string = ZOO_DIR): ZooEntry {
  const isPath = isModelPath(nameOrDir);
  if (isPath && nameOrDir.endsWith('.onnx')) {
    // An ONNX file on its own: its metadata comes from its graph (a meta.json beside it is another model's).
    const file = path.resolve(nameOrDir);
    const hash = hashOnnxModel(file);
    return { name: path.basename(file, '.onnx'), dir: path.dirname(file), meta: metaOf(path.dirname(file), file, hash, false), hash, tfjs: false, onnx: { file, hash } };
  }
  const dir = isPath ? path.resolve(nameOrDir) : path.join(zooDir, nameOrDir);
  if (!isPath) {
    const names = listZooModels(zooDir);
    if (!names.includes(nameOrDir)) throw new UserError(`unknown model '${nameOrDir}' (zoo models: ${names.join(', ')}; or a path to a model folder or .onnx file)`);
  }
  const tfjs = fs.existsSync(path.join(dir, 'model.json'));
  const onnxFile = path.join(dir, ONNX_FILE);
  const onnx = fs.existsSync(onnxFile) ? { file: onnxFile, hash: hashOnnxModel(onnxFile, path.join(dir, 'meta.json')) } : undefined;
  if (!tfjs && !onnx) throw new UserError(`${dir}: not a model folder (no model.json or ${ONNX_FILE})`);
  const hash = tfjs ? hashModelFiles(dir) : onnx!.hash;
  return { name: isPath ? path.basename(dir) : nameOrDir, dir, meta: metaOf(dir, tfjs ? dir : onnxFile, hash), hash, tfjs, onnx };
}
