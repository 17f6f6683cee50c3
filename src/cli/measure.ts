import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { CommandModule } from 'yargs';
import { loadScenario } from '../config/scenario';
import { datasetFromFolder, datasetFromScenario, DATASET_SIDECAR, readDatasetFile, resolveImageFolder, type DataRef } from '../data/spec';
import { parseYaml, readTextFile } from '../config/load';
import { toCsv } from '../report/csv';
import { formatTable } from '../report/table';
import { MEASUREMENT_COLUMNS } from '../measure/aggregate';
import { DEFAULT_ZOO_DIR, measurePipelines, measureShard, readZooIndex, type MeasureResult } from '../measure/measure';
import { mergePartials, parseShardSpec, partialFileName, partialFiles, partialText, readPartial } from '../measure/shard';
import { defaultCacheDir } from '../measure/cache';
import { checkOutputDir, OutputSet } from '../util/atomic';
import { isModelPath, modelSource, readZooMeta, resolveZooModel } from '../model/meta';
import { describeBackend } from '../model/runtime';
import { prepareModels } from '../model/derive';
import { expandPipelines } from '../pipelines/expand';
import { candidates, modelInfo } from '../pipelines/candidates';
import { LEARNED_KINDS, type PipelineRef } from '../pipelines/ref';
import { UserError } from '../util/errors';
import { PACKAGE_ROOT } from '../util/version';

/** Options of `splitsim measure`. */
export interface MeasureArgs {
  samples?: number;
  seed?: number;
  models?: string;
  scenario?: string;
  out?: string;
  workers?: number;
  cache?: boolean;
  zoo?: string;
  data?: string;
  dataset?: string;
  labels?: string;
  classes?: string;
  labelOffset?: number;
  resize?: number;
  crop?: string;
  channels?: string;
  scale?: string;
  kernel?: string;
  shard?: string;
  jobs?: number;
  progress?: boolean;
}

/** The dataset flags, by option name: the image-folder field each sets. */
const DATA_FLAGS = { labels: 'labels', classes: 'classes', 'label-offset': 'labelOffset', resize: 'resize', crop: 'crop', channels: 'channels', scale: 'scale', kernel: 'kernel' } as const;

/** --scale: a named scaling, or 'mean=a,b,c;std=d,e,f'. */
function parseScale(v: string): unknown {
  const m = /^\s*mean\s*=\s*([^;]+);\s*std\s*=\s*(.+)$/.exec(v);
  if (!m) return v;
  const nums = (t: string) => t.split(',').map((x) => Number(x.trim()));
  return { mean: nums(m[1]), std: nums(m[2]) };
}

/** --crop: N or HxW. */
function parseCrop(v: string): unknown {
  const m = /^\s*(\d+)\s*(?:x\s*(\d+))?\s*$/i.exec(v);
  if (!m) throw new UserError(`--crop: expected N or HxW (e.g. 224 or 224x192), got '${v}'`);
  return m[2] ? [Number(m[1]), Number(m[2])] : Number(m[1]);
}

/**
 * The dataset the flags name: --dataset FILE (a declaration), or --data DIR (Fashion-MNIST,
 * or an image folder with its sidecar), with the preprocessing flags setting or overriding
 * the image-folder fields. Undefined: the package's Fashion-MNIST.
 */
export function datasetFromArgs(a: MeasureArgs): DataRef | undefined {
  // --dataset DIR names the folder (with its sidecar), as --data DIR does.
  if (a.dataset !== undefined && a.data === undefined && fs.existsSync(a.dataset) && fs.statSync(a.dataset).isDirectory()) a = { ...a, data: a.dataset, dataset: undefined };
  const flags: Record<string, unknown> = {};
  if (a.labels !== undefined) flags.labels = a.labels;
  if (a.classes !== undefined) flags.classes = a.classes;
  if (a.labelOffset !== undefined) flags.labelOffset = a.labelOffset;
  if (a.resize !== undefined) flags.resize = a.resize;
  if (a.crop !== undefined) flags.crop = parseCrop(String(a.crop));
  if (a.channels !== undefined) flags.channels = a.channels;
  if (a.scale !== undefined) flags.scale = parseScale(String(a.scale));
  if (a.kernel !== undefined) flags.kernel = a.kernel;
  const given = Object.keys(flags).length > 0;
  if (a.dataset !== undefined && a.data !== undefined) throw new UserError('--data and --dataset: give one (--dataset names a declaration file, --data a folder)');
  if (a.dataset === undefined && a.data === undefined) {
    if (given) throw new UserError(`--${Object.keys(DATA_FLAGS).filter((k) => flags[DATA_FLAGS[k as keyof typeof DATA_FLAGS]] !== undefined).join(', --')}: describe an image folder; name the folder with --data DIR`);
    return undefined;
  }
  if (!given) return a.dataset !== undefined ? readDatasetFile(path.resolve(a.dataset)) : datasetFromFolder(a.data!);
  // Flags over the declaration's fields (a sidecar or --dataset file), if there is one.
  const declared = a.dataset !== undefined ? path.resolve(a.dataset) : path.join(path.resolve(a.data!), DATASET_SIDECAR);
  let fields: Record<string, unknown> = {};
  let base = a.dataset !== undefined ? path.dirname(declared) : path.resolve(a.data!);
  if (fs.existsSync(declared)) {
    const y = parseYaml(readTextFile(declared, 'dataset declaration'), declared);
    if (y === null || typeof y !== 'object' || Array.isArray(y)) throw new UserError(`${declared}: expected a mapping of dataset fields`);
    fields = y as Record<string, unknown>;
    base = path.dirname(declared);
  }
  if (a.data !== undefined) fields = { ...fields, path: path.resolve(a.data) };
  return resolveImageFolder({ ...fields, ...flags }, base, fs.existsSync(declared) ? `${declared} with the command-line flags` : 'the dataset flags (--data, --crop, ...)');
}

/** What `measure` measures: the scenario's pipelines, or every candidate of the named models. */
async function workOf(a: MeasureArgs): Promise<{ refs: PipelineRef[]; modelDirs: Map<string, string>; dataset?: DataRef; samples?: number; seed?: number; zooDir: string }> {
  const zooDir = a.zoo ? path.resolve(a.zoo) : DEFAULT_ZOO_DIR;
  if (a.scenario !== undefined) {
    if (a.models !== undefined) throw new UserError('--models and --scenario: give one (the scenario names its models)');
    if (a.data !== undefined || a.dataset !== undefined) throw new UserError('--data/--dataset and --scenario: give one (the scenario names its dataset)');
    const { scenario: s, file } = loadScenario(a.scenario);
    await prepareModels([s.model, ...(s.models ?? [])], path.dirname(file));
    const ex = expandPipelines(s, file, { zooDir });
    if (ex.measured.length === 0) throw new UserError(`${file}: the scenario has no measured pipelines`);
    return {
      refs: ex.measured, modelDirs: new Map([...ex.models].map(([n, m]) => [n, m.dir])), dataset: datasetFromScenario(s.dataset, file),
      samples: a.samples ?? s.samples, seed: a.seed ?? s.measureSeed, zooDir,
    };
  }
  const named = a.models?.split(',').map((s) => s.trim()).filter(Boolean);
  const folders = (named ?? []).filter(isModelPath);
  await prepareModels(folders, process.cwd());
  const zooNames = (named ?? []).filter((m) => !folders.includes(m));
  const entries = [...(named === undefined || zooNames.length > 0 ? readZooIndex(zooDir, named === undefined ? undefined : zooNames) : [])];
  const modelDirs = new Map<string, string>();
  for (const f of folders) {
    const e = resolveZooModel(path.resolve(f), zooDir);
    if (modelDirs.has(e.name)) throw new UserError(`--models: two folders are named '${e.name}'`);
    modelDirs.set(e.name, modelSource(e));
    entries.push(e);
  }
  return { refs: entries.flatMap((e) => candidates(modelInfo(e))), modelDirs, dataset: datasetFromArgs(a), samples: a.samples, seed: a.seed, zooDir };
}

/** measurements.csv and measurements.json of a measurement (the same whether sharded or not). */
export function measurementFiles(result: MeasureResult): { csv: string; json: string } {
  return {
    csv: toCsv(result.pipelines.map((p) => ({ ...p.row })), [...MEASUREMENT_COLUMNS]),
    json: JSON.stringify(
      {
        command: 'measure',
        splitsim_version: result.info.splitsimVersion,
        node_version: result.info.nodeVersion,
        backend: result.backend,
        seed: result.seed,
        samples: result.indices.length,
        sample_indices: result.indices.length < 10000 ? result.indices : 'all',
        models: result.models,
        dataset_hash: result.datasetHash,
        codec_costs: 'profiles/codecs/host.yaml (encode_ms_host, decode_ms_host)',
        pipelines: result.pipelines.length,
      },
      null,
      2,
    ) + '\n',
  };
}

/** Writes measurements.csv and measurements.json into outDir, as one set. */
export function writeMeasurements(result: MeasureResult, outDir: string): string[] {
  const out = new OutputSet(outDir, 'measure');
  const f = measurementFiles(result);
  out.add(path.join(outDir, 'measurements.csv'), f.csv);
  out.add(path.join(outDir, 'measurements.json'), f.json);
  out.commit();
  return out.paths();
}

/** Student rows with the bytes the learned prior predicts (ours and PyTorch's). */
export function studentCheck(result: MeasureResult, zooDir: string): string[][] {
  const rows: string[][] = [];
  for (const p of result.pipelines) {
    if (!LEARNED_KINDS.includes(p.ref.kind) || !Number.isFinite(p.row.bytes_estimated_mean)) continue;
    const metaDir = path.join(zooDir, p.ref.model);
    const pytorch = fs.existsSync(path.join(metaDir, 'meta.json')) ? readZooMeta(metaDir).bottleneck?.estimatedBytesPerImage ?? NaN : NaN;
    const real = p.row.bytes_mean;
    const est = p.row.bytes_estimated_mean;
    const ok = Math.abs(real - est) <= 0.02 * est + 4;
    rows.push([
      p.ref.model, p.ref.kind, (p.row.accuracy * 100).toFixed(2), real.toFixed(2), est.toFixed(2),
      Number.isFinite(pytorch) ? pytorch.toFixed(2) : '-', `${(((real - est) / est) * 100).toFixed(2)}%`, ok ? 'yes' : 'NO',
    ]);
  }
  return rows;
}

/** The options of a run again as command-line flags (for the processes of --jobs). */
function flagsOf(a: MeasureArgs): string[] {
  const out: string[] = [];
  const put = (flag: string, v: unknown) => { if (v !== undefined) out.push(`--${flag}`, String(v)); };
  put('samples', a.samples);
  put('seed', a.seed);
  put('models', a.models);
  put('scenario', a.scenario === undefined ? undefined : path.resolve(a.scenario));
  put('zoo', a.zoo === undefined ? undefined : path.resolve(a.zoo));
  put('data', a.data === undefined ? undefined : path.resolve(a.data));
  put('dataset', a.dataset === undefined ? undefined : path.resolve(a.dataset));
  put('labels', a.labels);
  put('classes', a.classes);
  put('label-offset', a.labelOffset);
  put('resize', a.resize);
  put('crop', a.crop);
  put('channels', a.channels);
  put('scale', a.scale);
  put('kernel', a.kernel);
  if (a.cache === false) out.push('--no-cache');
  return out;
}

/**
 * --jobs J: runs shards 0/J .. J-1/J as J local processes (one worker each unless --workers
 * says otherwise) into a temporary folder, then merges them. A shard that fails stops the
 * others; bad input (exit code 2) is reported as the shard reported it.
 */
async function runJobs(a: MeasureArgs, jobs: number): Promise<MeasureResult> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'splitsim-jobs-'));
  const bin = path.join(PACKAGE_ROOT, 'bin', 'splitsim.js');
  const base = flagsOf(a);
  try {
    const children = Array.from({ length: jobs }, (_, i) => {
      const args = [bin, 'measure', ...base, '--shard', `${i}/${jobs}`, '--out', tmp, '--workers', String(a.workers ?? 1), '--no-progress'];
      return spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    });
    const ends = children.map((c, i) => new Promise<void>((resolve, reject) => {
      let err = '';
      c.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
      c.on('error', reject);
      c.on('close', (code, signal) => {
        if (code === 0) resolve();
        else if (code === 2) reject(new UserError(err.replace(/^splitsim: /, '').trim()));
        else reject(new Error(`measure --shard ${i}/${jobs} exited with ${code ?? signal}: ${err.trim()}`));
      });
    }));
    try {
      await Promise.all(ends);
    } catch (e) {
      for (const c of children) if (c.exitCode === null) c.kill();
      await Promise.allSettled(ends);
      throw e;
    }
    return mergePartials(partialFiles([tmp]).map(readPartial), { cacheDir: a.cache === false ? undefined : defaultCacheDir() });
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function checkInt(v: number | undefined, flag: string, lo: number, hi: number): void {
  if (v !== undefined && !(Number.isInteger(v) && v >= lo && v <= hi)) throw new UserError(`${flag}: expected an integer from ${lo} to ${hi}, got ${v}`);
}

/** What runMeasure did. */
export type MeasureRun =
  | { kind: 'full'; result: MeasureResult; files: string[]; jobs: number }
  | { kind: 'shard'; file: string; units: number; sampleRuns: number; wallS: number; workers: number; shard: string };

/**
 * Runs `measure`: every candidate pipeline of the models (or the scenario's pipelines), the
 * whole run (measurements.csv and measurements.json), one shard of it (a partial file), or
 * --jobs shards as local processes, merged.
 */
export async function runMeasure(args: MeasureArgs): Promise<MeasureRun> {
  checkInt(args.workers, '--workers', 1, 64);
  checkInt(args.jobs, '--jobs', 1, 256);
  if (args.out !== undefined) checkOutputDir(args.out);
  if (args.shard !== undefined && args.jobs !== undefined) throw new UserError('--shard and --jobs: give one (--jobs J runs shards 0/J .. J-1/J itself)');
  const shard = args.shard !== undefined ? parseShardSpec(args.shard) : undefined;
  const w = await workOf(args);
  const opts = {
    samples: w.samples, seed: w.seed, zooDir: w.zooDir, modelDirs: w.modelDirs, dataset: w.dataset,
    workers: args.workers, useCache: args.cache ?? true, progress: args.progress,
  };
  const outDir = path.resolve(args.out ?? path.join('results', 'measure'));
  if (shard) {
    const r = await measureShard(w.refs, shard, opts);
    const out = new OutputSet(outDir, `measure-shard-${shard.index}-of-${shard.count}`);
    const file = path.join(outDir, partialFileName(shard));
    out.add(file, partialText(r));
    out.commit();
    return { kind: 'shard', file, units: r.timing.units, sampleRuns: r.timing.sampleRuns, wallS: r.timing.wallS, workers: r.timing.workers, shard: `${shard.index}/${shard.count}` };
  }
  const t0 = Date.now();
  const result = args.jobs !== undefined && args.jobs > 1 ? await runJobs(args, args.jobs) : await measurePipelines(w.refs, opts);
  if (args.jobs !== undefined && args.jobs > 1) result.timing.wallS = (Date.now() - t0) / 1000;
  return { kind: 'full', result, files: writeMeasurements(result, outDir), jobs: args.jobs ?? 1 };
}

const command: CommandModule<object, MeasureArgs> = {
  command: 'measure',
  describe: 'Measure pipelines for real (bitstreams, accuracy): every candidate of the zoo or of the given models, or a scenario\'s; whole, one shard, or --jobs shards',
  builder: (y) =>
    y
      .option('samples', { type: 'number', describe: 'measure a fixed seeded subset of N images (default: all of the dataset; a scenario: its samples)' })
      .option('seed', { type: 'number', describe: 'seed of the subset draw (default 1; a scenario: its measureSeed)' })
      .option('models', { type: 'string', alias: 'model', describe: 'comma-separated zoo models, model folders (model.json and/or model.onnx) or .onnx files (default: all in models/index.json)' })
      .option('scenario', { type: 'string', describe: "measure exactly what this scenario's simulate measures (its pipelines, dataset, samples)" })
      .option('out', { type: 'string', describe: 'output folder (default results/measure)' })
      .option('workers', { type: 'number', describe: 'processes to run in parallel (default: 2 or the CPU count if smaller; 1 per job with --jobs)' })
      .option('shard', { type: 'string', describe: "measure shard I/N only (0 <= I < N): a deterministic 1/N of the work, written to measurements.shard-I-of-N.json for 'splitsim merge'" })
      .option('jobs', { type: 'number', describe: 'run the measurement as J shards in J local processes and merge them' })
      .option('cache', { type: 'boolean', default: true, describe: 'use the measurement cache (.cache/measure); --no-cache re-measures' })
      .option('zoo', { type: 'string', describe: 'model zoo folder (default: the package models/)' })
      .option('data', { type: 'string', describe: `dataset folder: Fashion-MNIST (default: the package data/), or an image folder (with ${DATASET_SIDECAR}, or the flags below)` })
      .option('dataset', { type: 'string', describe: 'an image-folder declaration file (YAML: path, labels, crop, ...), or the image folder (as --data)' })
      .option('labels', { type: 'string', describe: "image folder: labels file (relative to the --data folder), 'filename label' per line (default: one subfolder per class)" })
      .option('classes', { type: 'string', describe: "image folder: label order, 'sorted' or a file (relative to the --data folder) of class names in model order" })
      .option('label-offset', { type: 'number', describe: 'image folder: added to every label (e.g. -1 for labels 1..1000)' })
      .option('resize', { type: 'number', describe: 'image folder: resize the shorter side to N pixels (default: the crop)' })
      .option('crop', { type: 'string', describe: 'image folder: centre crop N or HxW (the model input size)' })
      .option('channels', { type: 'string', describe: 'image folder: rgb, bgr or gray (the model\'s channel order)' })
      .option('scale', { type: 'string', describe: "image folder: '[-1,1]', '[0,1]', '[0,255]' or 'mean=a,b,c;std=d,e,f' (of p/255)" })
      .option('kernel', { type: 'string', describe: 'image folder: resize kernel (nearest, linear, cubic, mitchell, lanczos2, lanczos3)' })
      .option('progress', { type: 'boolean', describe: 'progress bar on stderr (default: on a terminal, or for long runs)' }),
  handler: async (args) => {
    const r = await runMeasure(args);
    if (r.kind === 'shard') {
      process.stdout.write(`measured shard ${r.shard}: ${r.units} unit(s), ${r.sampleRuns} pipeline-samples run now, in ${r.wallS.toFixed(1)} s with ${r.workers} worker(s)\nwrote ${r.file}\n`);
      return;
    }
    const { result, files } = r;
    const checks = studentCheck(result, args.zoo ? path.resolve(args.zoo) : DEFAULT_ZOO_DIR);
    const how = r.jobs > 1 ? `${r.jobs} local shard processes, merged` : `${result.timing.workers} worker(s)`;
    process.stdout.write(
      `measured ${result.pipelines.length} pipelines on ${result.indices.length} samples ` +
        (r.jobs > 1 ? '' : `(${result.timing.measured} run, ${result.timing.cached} from cache; ${result.timing.sampleRuns} pipeline-samples run now) `) +
        `in ${result.timing.wallS.toFixed(1)} s with ${how}, ${describeBackend(result.backend)}\n`,
    );
    if (checks.length) {
      process.stdout.write('\nlearned bottlenecks: coded bytes vs the model\'s estimate (sum -log2 p / 8 under its prior or hyperprior)\n');
      process.stdout.write(formatTable(['model', 'kind', 'top-1 %', 'bytes', 'estimate', 'PyTorch est.', 'real-est', 'within 2%+4B'], checks) + '\n');
    }
    process.stdout.write(`\nwrote ${files.join(', ')}\n`);
  },
};

export default command;
