/**
 * Measurement: runs pipelines (model, split, codec setting) on a seeded subset of the test
 * set, for real, serving what the cache holds and running the rest in parallel processes;
 * then aggregates. Any valid codec setting can be measured: pipelines are data.
 */
import * as os from 'os';
import * as path from 'path';
import { Rng } from '../engine/rng';
import { listZooModels, resolveZooModel, ZOO_DIR, type ZooEntry } from '../model/meta';
import { candidates, modelInfo } from '../pipelines/candidates';
import { pipelineName, type PipelineRef } from '../pipelines/ref';
import { UserError } from '../util/errors';
import { PACKAGE_ROOT, SPLITSIM_VERSION } from '../util/version';
import { aggregate, type MeasurementRow } from './aggregate';
import { cacheKey, defaultCacheDir, hashSamples, readCacheEntry, removeCacheEntry, writeCacheEntry, type SampleResults } from './cache';
import { concatResults, makeUnits, runUnits, type JobEnvironment } from './parallel';
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
  dataDir?: string;
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
}

function defaultEnv(): JobEnvironment {
  // Loaded lazily: tfjs and the zoo are only needed when something must be run.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('./zooRunner') as typeof import('./zooRunner')).zooEnvironment;
}

/** The model folders the refs use: given ones, else zooDir/<name>. */
function modelEntries(refs: PipelineRef[], zooDir: string, dirs?: Map<string, string>): Map<string, ZooEntry> {
  const out = new Map<string, ZooEntry>();
  for (const m of new Set(refs.map((r) => r.model))) out.set(m, resolveZooModel(dirs?.get(m) ?? m, zooDir));
  return out;
}

/** Measures the given pipelines, using the cache where it can. */
export async function measurePipelines(refs: PipelineRef[], opts: MeasureOptions = {}): Promise<MeasureResult> {
  const t0 = Date.now();
  const seed = opts.seed ?? 1;
  if (!(Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff)) throw new UserError(`--seed: expected an integer from 0 to 4294967295, got ${seed}`);
  const zooDir = path.resolve(opts.zooDir ?? DEFAULT_ZOO_DIR);
  const dataDir = path.resolve(opts.dataDir ?? DEFAULT_DATA_DIR);
  const cacheDir = path.resolve(opts.cacheDir ?? defaultCacheDir());
  const env = opts.env ?? defaultEnv();
  const models = modelEntries(refs, zooDir, opts.modelDirs);
  const backend = await env.init();
  const data = env.loadData(dataDir);
  if (opts.samples !== undefined && opts.samples > data.n) {
    throw new UserError(`--samples ${opts.samples}: the test set in ${dataDir} has ${data.n} images`);
  }
  const indices = selectSamples(data.n, opts.samples, seed);
  const samplesHash = hashSamples(indices);
  const datasetHash = env.datasetHash(dataDir);

  // One entry per distinct pipeline, in the order first named.
  const unique = new Map<string, PipelineRef>();
  for (const r of refs) if (!unique.has(pipelineName(r))) unique.set(pipelineName(r), r);
  const useCache = opts.useCache ?? true;
  const keys = new Map<string, string>();
  const found = new Map<string, SampleResults>();
  for (const [name, ref] of unique) {
    const key = cacheKey({ modelHash: models.get(ref.model)!.hash, datasetHash, split: ref.split, codec: ref.codec ?? null, samplesHash, backend });
    keys.set(name, key);
    if (useCache) {
      const hit = readCacheEntry(cacheDir, key);
      if (hit && hit.results.bytes.length === indices.length) found.set(name, hit.results);
    }
  }
  const pending = [...unique.values()].filter((r) => !found.has(pipelineName(r)));
  const workers = Math.max(1, opts.workers ?? Math.min(2, os.cpus().length));
  const measured = new Map<string, SampleResults>();
  let sampleRuns = 0;
  if (pending.length > 0) {
    // Work is cut into blocks of consecutive samples; each finished block is stored at once
    // (a partial entry per pipeline and block), so a killed run resumes where it stopped.
    const blockSize = BLOCK_SAMPLES;
    const nBlocks = Math.ceil(indices.length / blockSize);
    const blockKey = (name: string, b: number) => sha256(keys.get(name)!, `block=${b}/${blockSize}`);
    const record = (ref: PipelineRef, n: number) => ({
      pipeline: pipelineName(ref), model: ref.model, modelHash: models.get(ref.model)!.hash, datasetHash, split: ref.split,
      codec: ref.codec ?? null, samples: n, samplesHash, backend, splitsimVersion: SPLITSIM_VERSION,
    });
    const blocks = new Map<string, Array<SampleResults | undefined>>();
    for (const ref of pending) {
      const parts: Array<SampleResults | undefined> = [];
      for (let b = 0; b < nBlocks; b++) {
        const hit = useCache ? readCacheEntry(cacheDir, blockKey(pipelineName(ref), b)) : undefined;
        parts.push(hit && hit.results.bytes.length === Math.min(blockSize, indices.length - b * blockSize) ? hit.results : undefined);
      }
      blocks.set(pipelineName(ref), parts);
    }
    const modelDirs = Object.fromEntries([...models].map(([n, e]) => [n, e.dir]));
    // A unit is a model's pipelines on one block: those still missing that block.
    const units0 = makeUnits(pending, indices, { modelDirs, dataDir, blockSize, chunk: opts.chunk ?? 200 })
      .map((u) => ({ ...u, pipelines: u.pipelines.filter((p) => !blocks.get(pipelineName(p))![u.block]) }))
      .filter((u) => u.pipelines.length > 0)
      .map((u, i) => ({ ...u, id: i }));
    const total = units0.reduce((a, u) => a + u.pipelines.length * u.indices.length, 0);
    sampleRuns = total;
    const show = opts.progress ?? (process.stderr.isTTY === true || total > 100000);
    const progress = new Progress(total, show, `measuring ${pending.length} pipeline(s) x ${indices.length} samples`);
    const ran = await runUnits(units0, {
      workers,
      env,
      onProgress: (d) => progress.add(d),
      onUnit: (u, results) => {
        const b = u.block;
        for (const p of u.pipelines) {
          const name = pipelineName(p);
          const r = results.get(name)!;
          blocks.get(name)![b] = r;
          if (useCache) writeCacheEntry(cacheDir, blockKey(name, b), record(p, r.bytes.length), r);
        }
      },
    });
    progress.finish();
    if (ran !== undefined && ran !== backend) throw new Error(`workers ran tfjs on ${ran}, this process on ${backend}`);
    for (const ref of pending) {
      const name = pipelineName(ref);
      const full = concatResults(blocks.get(name)! as SampleResults[]);
      measured.set(name, full);
      if (useCache) {
        writeCacheEntry(cacheDir, keys.get(name)!, record(ref, indices.length), full);
        for (let b = 0; b < nBlocks; b++) removeCacheEntry(cacheDir, blockKey(name, b));
      }
    }
  }
  const pipelines: MeasuredPipeline[] = [...unique].map(([name, ref]) => {
    const results = found.get(name) ?? measured.get(name)!;
    return { ref, name, results, cached: found.has(name), row: aggregate(ref, results, backend, models.get(ref.model)!.hash) };
  });
  return {
    pipelines,
    backend,
    seed,
    indices,
    models: [...models.values()].map((e) => ({ name: e.name, hash: e.hash })),
    datasetHash,
    timing: { measured: pending.length, cached: unique.size - pending.length, wallS: (Date.now() - t0) / 1000, workers, sampleRuns },
  };
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
