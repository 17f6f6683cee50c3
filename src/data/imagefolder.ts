/**
 * Image-folder datasets: the listing (labels file or class subfolders) with every problem
 * named by file and line, the content hash, and the preprocessing of one image with sharp:
 * decode, resize the shorter side, centre crop. The result is the image as the device
 * captures it (RGB or gray, uint8); the channel order and scaling the model wants are applied
 * by the runner after the input codec (see Normalization).
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { UserError } from '../util/errors';
import type { Dataset } from './dataset';
import { cropShape, normalizationOf, type ImageFolderSpec } from './spec';

/** File name endings listed as images in class subfolders (other files are ignored). */
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.jpe', '.png', '.webp', '.avif', '.tif', '.tiff', '.gif'];

/** One sample of a folder: its image, its class and where both were named. */
export interface FolderEntry {
  /** Absolute path of the image. */
  file: string;
  /** Path relative to the folder (hashed, so a moved folder keeps its cache). */
  rel: string;
  label: number;
  /** 'labels.txt:17' or the class subfolder, for messages. */
  where: string;
}

/** The listing of an image folder. */
export interface FolderIndex {
  spec: ImageFolderSpec;
  entries: FolderEntry[];
  /** Class names in label order, when the labels are names (subfolders, named labels). */
  classNames?: string[];
}

function readLines(file: string, what: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UserError(`${file}: cannot read ${what} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return text.split(/\r?\n/);
}

/** Class names in the model's order from a classes file: the first word of each line. */
function readClasses(file: string): string[] {
  const names: string[] = [];
  const seen = new Map<string, number>();
  readLines(file, 'classes file').forEach((line, i) => {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) return;
    const name = t.split(/[\s,]+/)[0];
    if (seen.has(name)) throw new UserError(`${file}:${i + 1}: class '${name}' listed twice (first on line ${seen.get(name)})`);
    seen.set(name, i + 1);
    names.push(name);
  });
  if (names.length === 0) throw new UserError(`${file}: classes file lists no class`);
  return names;
}

const INTEGER = /^[+-]?\d+$/;

function isImageName(name: string): boolean {
  return IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase());
}

/**
 * Lists the samples of a folder dataset, in a fixed order (the labels file's, or class by
 * class and file name by file name). A labels line naming a missing image, a malformed line,
 * a label below 0 or beyond the classes file, a duplicate image, or an empty listing is a
 * UserError naming the file and line.
 */
export function indexImageFolder(spec: ImageFolderSpec): FolderIndex {
  const classes = spec.classes === 'sorted' ? undefined : readClasses(spec.classes);
  const entries: FolderEntry[] = [];
  let classNames: string[] | undefined = classes;
  const checkLabel = (label: number, where: string, raw: string) => {
    if (label < 0) throw new UserError(`${where}: label ${raw} with labelOffset ${spec.labelOffset} is ${label}, below 0`);
    if (classes && label >= classes.length) {
      throw new UserError(`${where}: label ${raw} is out of range: ${spec.classes} lists ${classes.length} classes (0..${classes.length - 1})`);
    }
  };
  if (spec.labels) {
    const file = spec.labels;
    const rows: Array<{ name: string; token: string; where: string }> = [];
    readLines(file, 'labels file').forEach((line, i) => {
      const t = line.trim();
      if (t === '' || t.startsWith('#')) return;
      const where = `${file}:${i + 1}`;
      const m = /^(.+?)\s*(?:,|\s)\s*([^\s,]+)$/.exec(t);
      if (!m) throw new UserError(`${where}: expected 'filename label', got '${t}'`);
      rows.push({ name: m[1].trim(), token: m[2], where });
    });
    // Named labels take the classes file's order, or the sorted names.
    const named = rows.filter((r) => !INTEGER.test(r.token));
    if (named.length > 0 && named.length < rows.length) {
      const a = rows.find((r) => INTEGER.test(r.token))!;
      throw new UserError(`${named[0].where}: label '${named[0].token}' is a name, but ${a.where} has a number; use one kind`);
    }
    if (named.length > 0 && !classes) classNames = [...new Set(named.map((r) => r.token))].sort();
    const seen = new Map<string, string>();
    for (const r of rows) {
      const abs = path.resolve(spec.root, r.name);
      const rel = path.relative(spec.root, abs);
      if (seen.has(rel)) throw new UserError(`${r.where}: image '${r.name}' already listed at ${seen.get(rel)}`);
      seen.set(rel, r.where);
      if (!fs.existsSync(abs) || !fs.statSync(abs).isFile()) throw new UserError(`${r.where}: image '${r.name}' not found (${abs})`);
      let label: number;
      if (INTEGER.test(r.token)) label = Number(r.token) + spec.labelOffset;
      else {
        const k = classNames!.indexOf(r.token);
        if (k < 0) throw new UserError(`${r.where}: class '${r.token}' is not in ${spec.classes}`);
        label = k + spec.labelOffset;
      }
      checkLabel(label, r.where, r.token);
      entries.push({ file: abs, rel, label, where: r.where });
    }
    if (entries.length === 0) throw new UserError(`${file}: labels file lists no image`);
  } else {
    const dirs = fs.readdirSync(spec.root, { withFileTypes: true })
      .filter((d) => d.isDirectory() && !d.name.startsWith('.')).map((d) => d.name).sort();
    if (dirs.length === 0) throw new UserError(`${spec.root}: no class subfolders and no labels file (give 'labels')`);
    if (classes) {
      const extra = dirs.filter((d) => !classes.includes(d));
      if (extra.length) throw new UserError(`${spec.root}: subfolder(s) ${extra.join(', ')} not in the classes file ${spec.classes}`);
    } else classNames = dirs;
    const order = classes ? classes.filter((c) => dirs.includes(c)) : dirs;
    for (const d of order) {
      const label = classNames!.indexOf(d) + spec.labelOffset;
      checkLabel(label, path.join(spec.root, d), d);
      const files = fs.readdirSync(path.join(spec.root, d), { withFileTypes: true })
        .filter((f) => f.isFile() && !f.name.startsWith('.') && isImageName(f.name)).map((f) => f.name).sort();
      for (const f of files) entries.push({ file: path.join(spec.root, d, f), rel: path.join(d, f), label, where: path.join(spec.root, d) });
    }
    if (entries.length === 0) throw new UserError(`${spec.root}: the class subfolders hold no images (${IMAGE_EXTENSIONS.join(' ')})`);
  }
  return { spec, entries, classNames };
}

/**
 * Checks that every image of the listing can be opened and has a size (its header, read by
 * sharp); the first that cannot is a UserError naming it.
 */
export async function verifyImages(index: FolderIndex, concurrency = 8): Promise<void> {
  let next = 0;
  const one = async (): Promise<void> => {
    while (next < index.entries.length) {
      const e = index.entries[next++];
      let meta: { width?: number; height?: number };
      try {
        meta = await sharp(e.file).metadata();
      } catch (err) {
        throw new UserError(`${e.file}: not a readable image (${(err as Error).message})${e.where.includes(':') ? `, listed at ${e.where}` : ''}`);
      }
      if (!meta.width || !meta.height) throw new UserError(`${e.file}: image has no size`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, index.entries.length) }, one));
}

/**
 * Content hash of a folder dataset: the preprocessing, then every sample's relative name,
 * label and bytes, in listing order (paths of the folder itself are not included).
 */
export function hashImageFolder(index: FolderIndex): string {
  const s = index.spec;
  const h = createHash('sha256');
  const pre = { resize: s.resize, crop: s.crop, channels: s.channels, mean: s.mean, std: s.std, kernel: s.kernel };
  h.update(`image-folder-1:${JSON.stringify(pre)}\n`);
  for (const e of index.entries) {
    const bytes = fs.readFileSync(e.file);
    h.update(`${e.rel}\t${e.label}\t${bytes.length}\n`);
    h.update(bytes);
  }
  return h.digest('hex');
}

/** Output size of the resize: the shorter side becomes `resize`, the other keeps the aspect. */
export function resizedSize(width: number, height: number, resize: number): { width: number; height: number } {
  return width <= height
    ? { width: resize, height: Math.max(resize, Math.round((height * resize) / width)) }
    : { width: Math.max(resize, Math.round((width * resize) / height)), height: resize };
}

/**
 * One image as the device captures it: decoded, converted to sRGB (or gray), the shorter side
 * resized, centre-cropped; crop[0]*crop[1]*channels bytes, row-major, interleaved. A file
 * sharp cannot decode is a UserError naming it.
 */
export async function captureImage(file: string, spec: ImageFolderSpec): Promise<Uint8Array> {
  const [ch, cw, nc] = cropShape(spec);
  try {
    const meta = await sharp(file).metadata();
    if (!meta.width || !meta.height) throw new Error('no size');
    const r = resizedSize(meta.width, meta.height, spec.resize);
    const { data, info } = await sharp(file)
      .removeAlpha()
      .toColourspace(nc === 1 ? 'b-w' : 'srgb')
      .resize(r.width, r.height, { kernel: spec.kernel, fit: 'fill' })
      .extract({ left: Math.floor((r.width - cw) / 2), top: Math.floor((r.height - ch) / 2), width: cw, height: ch })
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.width !== cw || info.height !== ch || info.channels !== nc) {
      throw new Error(`decoded to ${info.width}x${info.height}x${info.channels}, expected ${cw}x${ch}x${nc}`);
    }
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  } catch (e) {
    throw new UserError(`${file}: cannot decode and preprocess the image (${(e as Error).message})`);
  }
}

/**
 * An image folder as a Dataset: the listing and labels at once, the pixels of a batch decoded
 * on demand (in the process that runs the batch). `verify` checks every image's header first.
 */
export async function openImageFolder(spec: ImageFolderSpec, opts: { verify?: boolean } = {}): Promise<Dataset> {
  const index = indexImageFolder(spec);
  if (opts.verify) await verifyImages(index);
  const [rows, cols, channels] = cropShape(spec);
  const px = rows * cols * channels;
  // The units of one block (one per pipeline group) ask for the same samples one after the
  // other: the last batch is kept rather than decoded again.
  let last: { key: string; pixels: Promise<Uint8Array> } | undefined;
  const decode = async (indices: ArrayLike<number>): Promise<Uint8Array> => {
    const out = new Uint8Array(indices.length * px);
    let next = 0;
    // A few decodes in flight: libvips runs each on its own thread of the pool.
    const one = async (): Promise<void> => {
      while (next < indices.length) {
        const k = next++;
        const i = indices[k];
        if (!(i >= 0 && i < index.entries.length)) throw new RangeError(`sample ${i} is outside the dataset (${index.entries.length} images)`);
        out.set(await captureImage(index.entries[i].file, spec), k * px);
      }
    };
    await Promise.all(Array.from({ length: Math.min(4, indices.length) }, one));
    return out;
  };
  return {
    n: index.entries.length,
    rows,
    cols,
    channels,
    labels: Int32Array.from(index.entries, (e) => e.label),
    normalization: normalizationOf(spec),
    where: (i) => `${index.entries[i].file} (${index.entries[i].where})`,
    async pixels(indices) {
      const key = Array.from(indices).join(',');
      if (last?.key !== key) {
        const mine = { key, pixels: decode(indices) };
        last = mine;
        mine.pixels.catch(() => { if (last === mine) last = undefined; });
      }
      return (await last.pixels).slice();
    },
    hash: () => hashImageFolder(index),
  };
}
