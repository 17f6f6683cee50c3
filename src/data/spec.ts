/**
 * Datasets as data. A measurement runs on the built-in Fashion-MNIST test set or on an image
 * folder: class subfolders, or a folder plus a labels file ('filename label' per line), with
 * the preprocessing that turns a stored image into the model input declared next to it:
 * the shorter side resized, a centre crop (the image as the device captures it; input codecs
 * code this), then on the server the channel order and the scaling the model expects.
 *
 * The declaration lives in a sidecar file (`<folder>/splitsim-dataset.yaml`), inline in a
 * scenario (`dataset: {path, labels, crop, ...}`) or in `measure`'s flags; paths are relative
 * to the file that declares them.
 */
import * as fs from 'fs';
import * as path from 'path';
import { z } from 'zod';
import { loadYaml } from '../config/load';
import { UserError } from '../util/errors';
import { PACKAGE_ROOT } from '../util/version';

/** Name of the sidecar file that declares an image folder's labels and preprocessing. */
export const DATASET_SIDECAR = 'splitsim-dataset.yaml';

/** Folder of the committed Fashion-MNIST test set. */
export const FASHION_DIR = path.join(PACKAGE_ROOT, 'data');

/** Named scalings: x = (p/255 - mean) / std with these mean and std (p = 0..255). */
export const NAMED_SCALINGS: Record<string, { mean: number; std: number }> = {
  '[-1,1]': { mean: 0.5, std: 0.5 },
  '[0,1]': { mean: 0, std: 1 },
  '[0,255]': { mean: 0, std: 1 / 255 },
};

/** sharp's resampling kernels. */
export const RESIZE_KERNELS = ['nearest', 'linear', 'cubic', 'mitchell', 'lanczos2', 'lanczos3'] as const;

const size = z.number().int().min(1).max(16384);

const scalingSchema = z.union([
  z.enum(Object.keys(NAMED_SCALINGS) as [string, ...string[]]),
  z.object({
    mean: z.array(z.number().finite()).min(1).max(3).describe('per channel (model order), in units of p/255'),
    std: z.array(z.number().positive().finite()).min(1).max(3).describe('per channel (model order), in units of p/255'),
  }).strict(),
]).describe("'[-1,1]', '[0,1]', '[0,255]', or {mean: [...], std: [...]} per channel: x = (p/255 - mean) / std");

/** The fields of an image-folder declaration (sidecar, scenario or flags). */
export const imageFolderSchema = z.object({
  path: z.string().min(1).optional().describe('the image folder (default: the folder of the file declaring it)'),
  labels: z.string().min(1).optional().describe("labels file: 'filename label' per line (',' or blanks between), names relative to the folder; absent: one subfolder per class"),
  classes: z.string().min(1).default('sorted').describe("label order: 'sorted' (class names sorted), or a file of class names in the model's output order (first word of each line)"),
  labelOffset: z.number().int().min(-1000000).max(1000000).default(0).describe('added to every label (e.g. -1 for labels 1..1000 and a 1000-class model)'),
  resize: size.optional().describe('the shorter side is resized to this many pixels, keeping the aspect ratio (default: to the crop)'),
  crop: z.union([size, z.tuple([size, size])]).describe('centre crop, the model input size: N or [height, width]'),
  channels: z.enum(['rgb', 'bgr', 'gray']).default('rgb').describe('channel order the model takes (the device captures RGB, or gray)'),
  scale: scalingSchema.default('[0,1]'),
  kernel: z.enum(RESIZE_KERNELS).default('lanczos3').describe('resampling kernel of the resize (sharp)'),
}).strict();
export type ImageFolderFields = z.infer<typeof imageFolderSchema>;

/** How the server turns decoded pixels into the model input. */
export interface Normalization {
  /** Channel order of the model input ('gray': one channel). Pixels are stored RGB or gray. */
  order: 'rgb' | 'bgr' | 'gray';
  /** Per model channel: x = (p/255 - mean) / std. */
  mean: number[];
  std: number[];
}

/** A resolved image-folder dataset: absolute paths and every preprocessing step explicit. */
export interface ImageFolderSpec {
  kind: 'image-folder';
  /** The file or flags that declared it (for messages). */
  source: string;
  root: string;
  labels?: string;
  classes: 'sorted' | string;
  labelOffset: number;
  /** Shorter side after resizing. */
  resize: number;
  /** Crop size [height, width]. */
  crop: [number, number];
  channels: 'rgb' | 'bgr' | 'gray';
  mean: number[];
  std: number[];
  kernel: (typeof RESIZE_KERNELS)[number];
}

/** What a measurement runs on: the built-in Fashion-MNIST files, or an image folder. */
export type DataRef = { kind: 'fashion-mnist'; dir: string } | ImageFolderSpec;

/** Fashion-MNIST in a folder (default: the package's data/). */
export function fashionRef(dir: string = FASHION_DIR): DataRef {
  return { kind: 'fashion-mnist', dir: path.resolve(dir) };
}

/** Pixels per sample of a folder dataset's crop. */
export function cropShape(s: ImageFolderSpec): [number, number, number] {
  return [s.crop[0], s.crop[1], s.channels === 'gray' ? 1 : 3];
}

/** The normalization a folder dataset declares. */
export function normalizationOf(s: ImageFolderSpec): Normalization {
  return { order: s.channels, mean: s.mean, std: s.std };
}

/**
 * Resolves declared fields: paths against `baseDir`, the scaling to per-channel mean/std
 * (one value for all channels, or one per channel), the resize default. `source` names the
 * declaring file (or the flags) in every error.
 */
export function resolveImageFolder(fields: unknown, baseDir: string, source: string, prefix = ''): ImageFolderSpec {
  const parsed = imageFolderSchema.safeParse(fields);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${source}: ${i.path.length ? `field '${prefix}${i.path.join('.')}': ` : ''}${i.message}`);
    throw new UserError(lines.join('\n'));
  }
  const field = (name: string) => `field '${prefix}${name}'`;
  const f = parsed.data;
  const root = path.resolve(baseDir, f.path ?? '.');
  const crop: [number, number] = Array.isArray(f.crop) ? [f.crop[0], f.crop[1]] : [f.crop, f.crop];
  const resize = f.resize ?? Math.max(...crop);
  if (resize < Math.max(...crop)) {
    throw new UserError(`${source}: ${field('resize')}: ${resize} is smaller than the crop ${crop.join('x')} (the shorter side must cover the crop)`);
  }
  const nc = f.channels === 'gray' ? 1 : 3;
  const named = typeof f.scale === 'string' ? NAMED_SCALINGS[f.scale] : undefined;
  const perChannel = (v: number[], what: string): number[] => {
    if (v.length === nc) return [...v];
    if (v.length === 1) return new Array(nc).fill(v[0]);
    throw new UserError(`${source}: ${field(`scale.${what}`)}: ${v.length} values for ${nc} channel(s) (${f.channels}); give 1 or ${nc}`);
  };
  const mean = named ? new Array(nc).fill(named.mean) : perChannel((f.scale as { mean: number[] }).mean, 'mean');
  const std = named ? new Array(nc).fill(named.std) : perChannel((f.scale as { std: number[] }).std, 'std');
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) throw new UserError(`${source}: ${field('path')}: image folder ${root} not found`);
  const file = (p: string | undefined, name: string): string | undefined => {
    if (p === undefined) return undefined;
    const abs = path.resolve(root, p);
    if (!fs.existsSync(abs) || !fs.statSync(abs).isFile()) throw new UserError(`${source}: ${field(name)}: ${abs} not found`);
    return abs;
  };
  return {
    kind: 'image-folder',
    source,
    root,
    labels: file(f.labels, 'labels'),
    classes: f.classes === 'sorted' ? 'sorted' : file(f.classes, 'classes')!,
    labelOffset: f.labelOffset,
    resize,
    crop,
    channels: f.channels,
    mean,
    std,
    kernel: f.kernel,
  };
}

/** Reads a dataset declaration file (a sidecar or any YAML of the same fields). */
export function readDatasetFile(file: string): ImageFolderSpec {
  const fields = loadYaml(z.record(z.unknown()), file, 'dataset declaration');
  return resolveImageFolder(fields, path.dirname(file), file);
}

/**
 * A folder as a dataset: Fashion-MNIST when it holds the t10k IDX files, an image folder when
 * it has a sidecar; anything else is an error saying what to add.
 */
export function datasetFromFolder(dir: string): DataRef {
  const abs = path.resolve(dir);
  if (fs.existsSync(path.join(abs, DATASET_SIDECAR))) return readDatasetFile(path.join(abs, DATASET_SIDECAR));
  if (fs.existsSync(path.join(abs, 't10k-images-idx3-ubyte.gz'))) return fashionRef(abs);
  if (!fs.existsSync(abs)) throw new UserError(`${abs}: dataset folder not found`);
  throw new UserError(`${abs}: neither Fashion-MNIST (t10k-*-ubyte.gz) nor an image folder with ${DATASET_SIDECAR}; declare its labels and preprocessing there, inline in the scenario, or with measure's flags (--crop, --labels, ...)`);
}

/**
 * The `dataset` field of a scenario: 'fashion-mnist', a path (an image folder with a sidecar,
 * or a declaration file) or an inline declaration; relative paths resolve against the
 * scenario file's folder.
 */
export function datasetFromScenario(value: string | Record<string, unknown>, scenarioFile: string): DataRef {
  const dir = path.dirname(scenarioFile);
  if (value === 'fashion-mnist') return fashionRef();
  if (typeof value === 'string') {
    const p = path.resolve(dir, value);
    if (fs.existsSync(p) && fs.statSync(p).isFile()) return readDatasetFile(p);
    try {
      return datasetFromFolder(p);
    } catch (e) {
      throw new UserError(`${scenarioFile}: field 'dataset': ${(e as Error).message}`);
    }
  }
  if (value.path === undefined) throw new UserError(`${scenarioFile}: field 'dataset.path': Required (the image folder, relative to the scenario file)`);
  return resolveImageFolder(value, dir, scenarioFile, 'dataset.');
}

/** A short description of a dataset for logs and result files. */
export function describeData(ref: DataRef): string {
  if (ref.kind === 'fashion-mnist') return `Fashion-MNIST test set (${ref.dir})`;
  return `${ref.root}: resize ${ref.resize} (${ref.kernel}), crop ${ref.crop.join('x')}, ${ref.channels}, mean ${ref.mean.join('/')}, std ${ref.std.join('/')}`;
}
