import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { UserError } from '../util/errors';
import { tf } from './backend';
import { registerCustomLayers } from './layers';
import { checkLayerClasses, deriveModelMeta, kerasTopology } from './derive';
import { hashModelFiles, listZooModels, readJson, readShard, readZooMeta, ZOO_DIR, type ZooMeta } from './meta';

export { zooMetaSchema, readZooMeta, listZooModels, type ZooMeta } from './meta';

registerCustomLayers();

/** Default folder of the committed model zoo. */
export const DEFAULT_ZOO_DIR = ZOO_DIR;


/** A loaded zoo model: its files' folder, metadata, the tfjs model and a hash of its files. */
export interface ZooModel {
  name: string;
  dir: string;
  meta: ZooMeta;
  model: tf.LayersModel;
  /** The model's content hash (meta.ts hashModelFiles). */
  hash: string;
}


interface WeightsGroup {
  paths: string[];
  weights: tf.io.WeightsManifestEntry[];
}

const BYTES_PER_DTYPE: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

/** Reads and checks model.json, the shards and meta.json (if any) of one model folder; loads it. */
export async function loadModelDir(dir: string): Promise<ZooModel> {
  const modelFile = path.join(dir, 'model.json');
  const metaFile = path.join(dir, 'meta.json');
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UserError(`${dir}: model folder not found`);
  const modelJsonBytes = fs.existsSync(modelFile) ? fs.readFileSync(modelFile) : undefined;
  const raw = readJson(modelFile, 'tfjs model file') as Record<string, unknown>;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new UserError(`${modelFile}: expected a JSON object with 'modelTopology' and 'weightsManifest'`);
  }
  if (raw.format !== undefined && raw.format !== 'layers-model') {
    throw new UserError(`${modelFile}: field 'format': expected "layers-model", got ${JSON.stringify(raw.format)}`);
  }
  const topology = kerasTopology(raw, modelFile);
  checkLayerClasses(topology, modelFile);
  const manifest = raw.weightsManifest as WeightsGroup[] | undefined;
  if (!Array.isArray(manifest) || manifest.some((g) => !Array.isArray(g?.paths) || !Array.isArray(g?.weights))) {
    throw new UserError(`${modelFile}: field 'weightsManifest': expected a list of {paths, weights} groups`);
  }
  // A folder without meta.json (a model brought as it is) gets its metadata from its graph.
  const meta = fs.existsSync(metaFile) ? readZooMeta(dir) : await deriveModelMeta(dir);

  const shards: Buffer[] = [];
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  for (const [gi, group] of manifest.entries()) {
    let expected = 0;
    for (const w of group.weights) {
      const per = BYTES_PER_DTYPE[w.dtype ?? 'float32'];
      if (!per || !Array.isArray(w.shape)) {
        throw new UserError(`${modelFile}: field 'weightsManifest[${gi}]': weight '${w.name}' has an unsupported dtype or shape`);
      }
      expected += per * w.shape.reduce((a, b) => a * b, 1);
      weightSpecs.push(w);
    }
    let got = 0;
    for (const p of group.paths) {
      const buf = readShard(dir, p, modelFile);
      shards.push(buf);
      got += buf.length;
    }
    if (got !== expected) {
      throw new UserError(`${dir}: weight shards ${group.paths.join(', ')} hold ${got} bytes, ${modelFile} describes ${expected}`);
    }
  }
  const weightData = new Uint8Array(shards.reduce((a, b) => a + b.length, 0));
  let off = 0;
  for (const s of shards) {
    weightData.set(s, off);
    off += s.length;
  }
  for (const [file, want] of Object.entries(meta.files)) {
    const f = path.join(dir, file);
    if (!fs.existsSync(f)) throw new UserError(`${f}: file recorded in ${metaFile} not found`);
    const have = crypto.createHash('sha256').update(readShard(dir, file, metaFile)).digest('hex');
    if (have !== want) throw new UserError(`${f}: sha256 ${have} differs from ${want} recorded in ${metaFile} (file changed after export)`);
  }

  let model: tf.LayersModel;
  try {
    model = await tf.loadLayersModel(
      tf.io.fromMemory({ modelTopology: topology as tf.io.ModelArtifacts['modelTopology'], weightSpecs, weightData: weightData.buffer }),
    );
  } catch (e) {
    throw new UserError(`${modelFile}: tfjs cannot build the model (${(e as Error).message})`);
  }
  const names = new Set(model.layers.map((l) => l.name));
  const missing = meta.splitPoints.filter((s) => !names.has(s));
  if (missing.length > 0) {
    model.dispose();
    throw new UserError(`${metaFile}: field 'splitPoints': ${missing.join(', ')} not a layer of ${modelFile}`);
  }
  return { name: meta.name, dir, meta, model, hash: hashModelFiles(dir) };
}

/** Loads zoo model `name` from zooDir (default: the package's models/). */
export async function loadZooModel(name: string, zooDir: string = DEFAULT_ZOO_DIR): Promise<ZooModel> {
  const dir = path.join(zooDir, name);
  if (!fs.existsSync(dir)) {
    let valid = '';
    try {
      valid = `; valid names: ${listZooModels(zooDir).join(', ')}`;
    } catch {
      // index unreadable: report the unknown name alone
    }
    throw new UserError(`${dir}: no zoo model '${name}' in ${zooDir}${valid}`);
  }
  return loadModelDir(dir);
}
