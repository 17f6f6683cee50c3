/**
 * Measurement: runs pipelines (model, split, codec setting) on a seeded subset of a dataset
 * (Fashion-MNIST or an image folder), for real, serving what the cache holds and running the
 * rest in parallel processes; then aggregates. Any valid codec setting can be measured:
 * pipelines are data. The work is a fixed list of units (a group of pipelines on a block of
 * samples, parallel.ts), so a shard of a run (measureShard) is a deterministic 1/N of it, and
 * merging the shards (shard.ts) gives exactly what one process gives.
 */
import * as os from 'os';
import * as path from 'path';
import type { Dataset } from '../data/dataset';
import { describeData, fashionRef, type DataRef } from '../data/spec';
import { Rng } from '../engine/rng';
import { listZooModels, modelSource, resolveZooModel, ZOO_DIR, type ZooEntry } from '../model/meta';
import { chooseRuntime, ORT_BACKEND, ortVersion, type RuntimeName } from '../model/runtime';
import { candidates, modelInfo } from '../pipelines/candidates';
import { pipelineName, type PipelineRef } from '../pipelines/ref';
import { UserError } from '../util/errors';
import { PACKAGE_ROOT, SPLITSIM_VERSION } from '../util/version';
import { aggregate, type MeasurementRow } from './aggregate';
import { cacheKey, codeHash, defaultCacheDir, hashSamples, readCacheEntry, removeCacheEntry, writeCacheEntry, type CacheRecord, type SampleResults } from './cache';
import { concatResults, makeUnits, runUnits, shardUnits, sliceResults, workOrder, type JobEnvironment, type WorkUnit } from './parallel';
import { sha256 } from './cache';
import { Progress } from '../util/progress';

/** Default folders of the zoo and the dataset. */
export const DEFAULT_ZOO_DIR = ZOO_DIR;
export const DEFAULT_DATA_DIR = path.join(PACKAGE_ROOT, 'data');
/** Samples per block of work (and per stored partial result of a running measurement). */
export const BLOCK_SAMPLES = 200;
/** Size of the Fashion-MNIST test set. */
export const TEST_SET_SIZE = 10000;

/**
 * The sample indices measured: all of [0, total) by default, or a fixed subset of n drawn
 * with the seed (partial Fisher-Yates on the 'measure-samples' stream), sorted.
 */
export function selectSamples(total: number, n: number | undefined, seed: number): number[] {
  const all = Array.from({ length: total }, (_, i) => i);
  if (n === undefined || n >= total) return all;
  if (!(Number.isInteger(n) && n >= 1)) throw new UserError(`--samples: expected a positive integer, got ${n}`);
  const rng = new Rng(seed, 'measure-samples');
  for (let i = 0; i < n; i++) {
    const j = i + rng.int(total - i);
    [all[i], all[j]] = [all[j], all[i]];
  }
  return all.slice(0, n).sort((a, b) => a - b);
}

/** The zoo models (all, or the named ones) with their metadata and hashes. */
export function readZooIndex(zooDir: string, only?: string[]): ZooEntry[] {
  const list = listZooModels(zooDir);
  if (only) {
    for (const m of only) if (!list.includes(m)) throw new UserError(`--models: '${m}' is not in ${path.join(zooDir, 'index.json')} (it has: ${list.join(', ')})`);
  }
  return list.filter((name) => !only || only.includes(name)).map((name) => resolveZooModel(name, zooDir));
}

/** Options of a measurement. */
export interface MeasureOptions {
  samples?: number;
  seed?: number;
  zooDir?: string;
  /** Folders of models not in the zoo, by the name pipelines use. */
  modelDirs?: Map<string, string>;
  /** Folder of the Fashion-MNIST test set (when no `dataset` is given). */
  dataDir?: string;
  /** The dataset (default: Fashion-MNIST in dataDir). */
  dataset?: DataRef;
  cacheDir?: string;
  /** Processes to use (default: 2, or fewer CPUs). */
  workers?: number;
  /** Samples per inference batch. */
  chunk?: number;
  /** Read and write the cache (default true). */
  useCache?: boolean;
  /** Progress bar on stderr (default: on a terminal, or for runs of over 100k pipeline-samples). */
  progress?: boolean;
  /** How processes load models and data (default: the zoo's loaders). */
  env?: JobEnvironment;
  /** The model runtime (default: SPLITSIM_RUNTIME, else ONNX Runtime for models with an ONNX file where it loads). */
  runtime?: RuntimeName | 'auto';
}

/** One measured pipeline: its ref, per-sample results and aggregate row. */
export interface MeasuredPipeline {
  ref: PipelineRef;
  name: string;
  results: SampleResults;
  row: MeasurementRow;
  cached: boolean;
}

/** What a measurement produced and what made it (no clock readings: see `timing`). */
export interface MeasureResult {
  pipelines: MeasuredPipeline[];
  backend: string;
  seed: number;
  indices: number[];
  models: Array<{ name: string; hash: string }>;
  datasetHash: string;
  /** How the run went: counts and wall time, for stderr and logs, never for result files. */
  timing: { measured: number; cached: number; wallS: number; workers: number; sampleRuns: number };
  /** The run's identity (what result files record about it). */
  info: RunInfo;
}

/**
 * What identifies a measurement run, the same in every shard of it: every input of the
 * numbers (models, dataset, samples, pipelines, backend, code) and what the result files
 * record (versions).
 */
export interface RunInfo {
  splitsimVersion: string;
  nodeVersion: string;
  backend: string;
  seed: number;
  indices: number[];
  datasetHash: string;
  /**
   * Each model's name and hash (of the files its runtime reads); `backend` where the run's
   * models do not all run on one backend (then `backend` above lists them, joined with '+').
   */
  models: Array<{ name: string; hash: string; backend?: string }>;
  /** The distinct pipelines, in the order first named (the order of the result rows). */
  pipelines: PipelineRef[];
  blockSize: number;
  codeHash: string;
}

/** The backend a model of a run ran on: its own, or the run's. */
export function modelBackend(info: RunInfo, model: string): string {
  return info.models.find((m) => m.name === model)?.backend ?? info.backend;
}

/** The backend string of a cache key: ONNX Runtime's includes its version (its numerics may change with it). */
function keyBackend(backend: string): string {
  return backend === ORT_BACKEND ? `${backend}@${ortVersion() ?? '?'}` : backend;
}

/** Identity of a run: a hash of its RunInfo. */
export function runId(info: RunInfo): string {
  return sha256(JSON.stringify(info)).slice(0, 32);
}

function defaultEnv(): JobEnvironment {
  // Loaded lazily: tfjs and the zoo are only needed when something must be run.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('./zooRunner') as typeof import('./zooRunner')).zooEnvironment;
}

/**
 * The model folders the refs use (given ones, else zooDir/<name>), with folders without
 * meta.json analysed first (model/derive.ts).
 */
async function modelEntries(refs: PipelineRef[], zooDir: string, dirs?: Map<string, string>, forced?: RuntimeName | 'auto'): Promise<Map<string, RunModel>> {
  const { prepareModel } = await import('../model/derive');
  const out = new Map<string, RunModel>();
  for (const m of new Set(refs.map((r) => r.model))) {
    const d = dirs?.get(m) ?? m;
    await prepareModel(d);
    const e = resolveZooModel(d, zooDir);
    const runtime = chooseRuntime({ where: modelSource(e), tfjs: e.tfjs, onnx: e.onnx?.file }, forced);
    out.set(m, { ...e, runtime, hash: runtime === 'onnxruntime' ? e.onnx!.hash : e.hash, file: runtime === 'onnxruntime' ? e.onnx!.file : path.join(e.dir, 'model.json') });
  }
  return out;
}

/** A model of a run: its entry, the runtime that runs it, the file it reads and that runtime's hash of it. */
interface RunModel extends ZooEntry {
  runtime: RuntimeName;
  file: string;
}

/**
 * Refuses models that cannot run on the dataset, naming the shapes: an input shape other than
 * the dataset's images (crop and channels), or fewer classes than a label needs (naming the
 * file and line of the first such label).
 */
async function checkModelsFitData(models: Map<string, RunModel>, data: Dataset, ref: DataRef): Promise<void> {
  const { deriveModelMeta } = await import('../model/derive');
  const have = [data.rows, data.cols, data.channels];
  for (const e of models.values()) {
    const want = e.meta.input.shape;
    if (want.length !== 3 || want.some((d, i) => d !== have[i])) {
      const pre = ref.kind === 'image-folder' ? ` (${ref.source}: crop ${ref.crop.join('x')}, channels ${ref.channels})` : '';
      throw new UserError(`${e.file}: model input is ${want.join('x')}, but the dataset gives ${have.join('x')} images${pre}`);
    }
    const classes = e.runtime === 'onnxruntime' ? await onnxClasses(e.file) : (await deriveModelMeta(e.dir, e.hash)).derived.classes;
    for (let i = 0; i < data.n; i++) {
      if (data.labels[i] >= classes) {
        throw new UserError(`${data.where(i)}: label ${data.labels[i]} is out of range for ${e.name}, whose output has ${classes} classes (0..${classes - 1})`);
      }
    }
  }
}

/** Size of an ONNX model's output (model/onnx.ts, loaded only for ONNX models). */
async function onnxClasses(file: string): Promise<number> {
  const { outputClasses, readOnnxFile } = await import('../model/onnx');
  return outputClasses(readOnnxFile(file));
}

/** A run made ready: identity, data, models, cache keys; nothing measured yet. */
interface PreparedRun {
  info: RunInfo;
  env: JobEnvironment;
  data: DataRef;
  keys: Map<string, string>;
  models: Map<string, RunModel>;
  modelDirs: Record<string, string>;
  cacheDir: string;
  useCache: boolean;
  workers: number;
  chunk: number;
  progress?: boolean;
}

async function prepareRun(refs: PipelineRef[], opts: MeasureOptions): Promise<PreparedRun> {
  const seed = opts.seed ?? 1;
  if (!(Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff)) throw new UserError(`--seed: expected an integer from 0 to 4294967295, got ${seed}`);
  const zooDir = path.resolve(opts.zooDir ?? DEFAULT_ZOO_DIR);
  const ref = opts.dataset ?? fashionRef(opts.dataDir ?? DEFAULT_DATA_DIR);
  const cacheDir = path.resolve(opts.cacheDir ?? defaultCacheDir());
  const env = opts.env ?? defaultEnv();
  const models = await modelEntries(refs, zooDir, opts.modelDirs, opts.runtime);
  const backendOf = new Map<string, string>();
  for (const [name, m] of models) backendOf.set(name, m.runtime === 'onnxruntime' ? ORT_BACKEND : await env.init());
  const backends = [...new Set(backendOf.values())].sort();
  const backend = backends.length > 0 ? backends.join('+') : await env.init();
  const data = await env.loadData(ref, { verify: true });
  if (opts.samples !== undefined && opts.samples > data.n) {
    throw new UserError(`--samples ${opts.samples}: the dataset (${describeData(ref)}) has ${data.n} images`);
  }
  await checkModelsFitData(models, data, ref);
  const indices = selectSamples(data.n, opts.samples, seed);
  const datasetHash = data.hash();
  // One entry per distinct pipeline, in the order first named.
  const unique = new Map<string, PipelineRef>();
  for (const r of refs) if (!unique.has(pipelineName(r))) unique.set(pipelineName(r), r);
  const info: RunInfo = {
    splitsimVersion: SPLITSIM_VERSION,
    nodeVersion: process.version,
    backend,
    seed,
    indices,
    datasetHash,
    models: [...models.values()].map((e) => (backends.length > 1 ? { name: e.name, hash: e.hash, backend: backendOf.get(e.name)! } : { name: e.name, hash: e.hash })),
    pipelines: [...unique.values()],
    blockSize: BLOCK_SAMPLES,
    codeHash: codeHash(),
  };
  return {
    info,
    env,
    data: ref,
    keys: runCacheKeys(info),
    models,
    modelDirs: Object.fromEntries([...models].map(([n, e]) => [n, e.dir])),
    cacheDir,
    useCache: opts.useCache ?? true,
    workers: Math.max(1, opts.workers ?? Math.min(2, os.cpus().length)),
    chunk: opts.chunk ?? 200,
    progress: opts.progress,
  };
}

/** Every unit of a run, in their fixed order (ids 0..). */
function runUnitsOf(run: PreparedRun): WorkUnit[] {
  const runtimes = Object.fromEntries([...run.models].map(([n, m]) => [n, m.runtime === 'onnxruntime' ? { runtime: m.runtime, onnx: m.file, source: modelSource(m) } : { runtime: m.runtime }]));
  return makeUnits(run.info.pipelines, run.info.indices, { modelDirs: run.modelDirs, runtimes, data: run.data, blockSize: run.info.blockSize, chunk: run.chunk });
}

/** Per pipeline, the results of each block of the selected units (undefined: not selected). */
type BlockResults = Map<string, Array<SampleResults | undefined>>;

/**
 * Obtains the per-block results of the selected units: from whole-run cache entries (sliced),
 * from block entries of an earlier, interrupted run, or by running them (each finished block
 * is stored at once, so a killed run resumes with the rest).
 */
async function runSelected(run: PreparedRun, selected: WorkUnit[]): Promise<{ blocks: BlockResults; whole: Set<string>; sampleRuns: number }> {
  const { info, cacheDir, useCache } = run;
  const nBlocks = Math.ceil(info.indices.length / info.blockSize);
  const blockKey = (name: string, b: number) => sha256(run.keys.get(name)!, `block=${b}/${info.blockSize}`);
  const blockLength = (b: number) => Math.min(info.blockSize, info.indices.length - b * info.blockSize);
  const blocks: BlockResults = new Map();
  const whole = new Set<string>();
  const full = new Map<string, SampleResults>();
  for (const u of selected) {
    for (const p of u.pipelines) {
      const name = pipelineName(p);
      if (!blocks.has(name)) {
        blocks.set(name, new Array(nBlocks).fill(undefined));
        const hit = useCache ? readCacheEntry(cacheDir, run.keys.get(name)!) : undefined;
        if (hit && hit.results.bytes.length === info.indices.length) {
          full.set(name, hit.results);
          whole.add(name);
        }
      }
      const r = full.get(name);
      if (r) blocks.get(name)![u.block] = sliceResults(r, u.block * info.blockSize, u.block * info.blockSize + blockLength(u.block));
      else if (useCache) {
        const hit = readCacheEntry(cacheDir, blockKey(name, u.block));
        if (hit && hit.results.bytes.length === blockLength(u.block)) blocks.get(name)![u.block] = hit.results;
      }
    }
  }
  const pending = selected
    .map((u) => ({ ...u, pipelines: u.pipelines.filter((p) => !blocks.get(pipelineName(p))![u.block]) }))
    .filter((u) => u.pipelines.length > 0);
  const total = pending.reduce((a, u) => a + u.pipelines.length * u.indices.length, 0);
  const show = run.progress ?? (process.stderr.isTTY === true || total > 100000);
  const names = new Set(pending.flatMap((u) => u.pipelines.map(pipelineName)));
  const progress = new Progress(total, show, `measuring ${names.size} pipeline(s) x ${info.indices.length} samples`);
  await runUnits(workOrder(pending), {
    workers: run.workers,
    env: run.env,
    onProgress: (d) => progress.add(d),
    onUnit: (u, results, backend) => {
      if (backend !== modelBackend(info, u.model)) throw new Error(`a worker ran ${u.model} on ${backend}, this process chose ${modelBackend(info, u.model)}`);
      for (const p of u.pipelines) {
        const name = pipelineName(p);
        const r = results.get(name)!;
        blocks.get(name)![u.block] = r;
        if (useCache) writeCacheEntry(cacheDir, blockKey(name, u.block), runCacheRecord(run.info, p, r.bytes.length), r);
      }
    },
  });
  progress.finish();
  return { blocks, whole, sampleRuns: total };
}

/**
 * Whole-run results of every pipeline from its blocks; stores each newly assembled one as a
 * whole-run cache entry (dropping its block entries). Returns the measured pipelines.
 */
export function assemblePipelines(
  info: RunInfo,
  blocks: BlockResults,
  whole: Set<string>,
  cache?: { dir: string; keys: Map<string, string>; record: (ref: PipelineRef, n: number) => CacheRecord },
): MeasuredPipeline[] {
  const hashOf = new Map(info.models.map((m) => [m.name, m.hash]));
  return info.pipelines.map((ref) => {
    const name = pipelineName(ref);
    const parts = blocks.get(name);
    if (!parts || parts.some((b) => b === undefined)) throw new Error(`${name}: not every block was measured`);
    const results = concatResults(parts as SampleResults[]);
    if (cache && !whole.has(name)) {
      writeCacheEntry(cache.dir, cache.keys.get(name)!, cache.record(ref, info.indices.length), results);
      for (let b = 0; b < parts.length; b++) removeCacheEntry(cache.dir, sha256(cache.keys.get(name)!, `block=${b}/${info.blockSize}`));
    }
    return { ref, name, results, cached: whole.has(name), row: aggregate(ref, results, modelBackend(info, ref.model), hashOf.get(ref.model)!) };
  });
}

/** The cache keys of a run's pipelines (as measurePipelines computes them), by name. */
export function runCacheKeys(info: RunInfo): Map<string, string> {
  const hashOf = new Map(info.models.map((m) => [m.name, m.hash]));
  const samplesHash = hashSamples(info.indices);
  return new Map(info.pipelines.map((r) => [pipelineName(r), cacheKey({
    modelHash: hashOf.get(r.model)!, datasetHash: info.datasetHash, split: r.split, codec: r.codec ?? null, samplesHash, backend: keyBackend(modelBackend(info, r.model)),
  })]));
}

/** The cache record of a pipeline of a run (whole-run entries). */
export function runCacheRecord(info: RunInfo, ref: PipelineRef, n: number): CacheRecord {
  return {
    pipeline: pipelineName(ref), model: ref.model, modelHash: info.models.find((m) => m.name === ref.model)!.hash, datasetHash: info.datasetHash,
    split: ref.split, codec: ref.codec ?? null, samples: n, samplesHash: hashSamples(info.indices), backend: modelBackend(info, ref.model), splitsimVersion: SPLITSIM_VERSION,
  };
}

/** MeasureResult of assembled pipelines. */
export function resultOf(info: RunInfo, pipelines: MeasuredPipeline[], timing: MeasureResult['timing']): MeasureResult {
  return { pipelines, backend: info.backend, seed: info.seed, indices: info.indices, models: info.models, datasetHash: info.datasetHash, timing, info };
}

/** Measures the given pipelines, using the cache where it can. */
export async function measurePipelines(refs: PipelineRef[], opts: MeasureOptions = {}): Promise<MeasureResult> {
  const t0 = Date.now();
  const run = await prepareRun(refs, opts);
  const { blocks, whole, sampleRuns } = await runSelected(run, runUnitsOf(run));
  const cache = run.useCache ? { dir: run.cacheDir, keys: run.keys, record: (r: PipelineRef, n: number) => runCacheRecord(run.info, r, n) } : undefined;
  const pipelines = assemblePipelines(run.info, blocks, whole, cache);
  return resultOf(run.info, pipelines, {
    measured: pipelines.length - whole.size, cached: whole.size, wallS: (Date.now() - t0) / 1000, workers: run.workers, sampleRuns,
  });
}

/** A shard of a run: which one, and the per-block results of its units. */
export interface ShardResult {
  info: RunInfo;
  shard: { index: number; count: number };
  /** Results of each (pipeline, block) of the shard's units. */
  parts: Array<{ pipeline: string; block: number; results: SampleResults }>;
  timing: { units: number; sampleRuns: number; wallS: number; workers: number };
}

/**
 * Measures shard `index` of `count` of the run measurePipelines would do: its share of the
 * run's fixed unit list (parallel.ts shardUnits; shard.ts merges the shards).
 */
export async function measureShard(refs: PipelineRef[], shard: { index: number; count: number }, opts: MeasureOptions = {}): Promise<ShardResult> {
  const t0 = Date.now();
  const run = await prepareRun(refs, opts);
  const selected = shardUnits(runUnitsOf(run), shard.index, shard.count);
  const { blocks, sampleRuns } = await runSelected(run, selected);
  const parts = selected.flatMap((u) => u.pipelines.map((p) => ({ pipeline: pipelineName(p), block: u.block, results: blocks.get(pipelineName(p))![u.block]! })));
  return { info: run.info, shard, parts, timing: { units: selected.length, sampleRuns, wallS: (Date.now() - t0) / 1000, workers: run.workers } };
}

/** Options of measureZoo: which zoo models, and optionally which of their candidates. */
export interface ZooMeasureOptions extends MeasureOptions {
  models?: string[];
  filter?: (p: PipelineRef) => boolean;
}

/** Measures every candidate pipeline of the (selected) zoo models. */
export async function measureZoo(opts: ZooMeasureOptions = {}): Promise<MeasureResult> {
  const zooDir = path.resolve(opts.zooDir ?? DEFAULT_ZOO_DIR);
  let refs = readZooIndex(zooDir, opts.models).flatMap((e) => candidates(modelInfo(e)));
  if (opts.filter) refs = refs.filter(opts.filter);
  return measurePipelines(refs, { ...opts, zooDir });
}
