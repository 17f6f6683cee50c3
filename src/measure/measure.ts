/**
 * Measurement of the model zoo: selects the samples, enumerates the pipelines, serves what
 * the cache holds, runs the rest (in parallel processes), stores them, and aggregates.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Rng } from '../engine/rng';
import { UserError } from '../util/errors';
import { PACKAGE_ROOT, SPLITSIM_VERSION } from '../util/version';
import { readZooMeta } from '../model/meta';
import { aggregate, type MeasurementRow } from './aggregate';
import {
  cacheKey,
  defaultCacheDir,
  hashModelDir,
  hashSamples,
  readCacheEntry,
  writeCacheEntry,
  type SampleResults,
} from './cache';
import { runParallel, type JobEnvironment } from './parallel';
import { codecParams, pipelineName, zooPipelines, type ModelInfo, type PipelineSpec } from './pipelines';
import { Progress } from './progress';

/** Default folders of the zoo and the dataset. */
export const DEFAULT_ZOO_DIR = path.join(PACKAGE_ROOT, 'models');
export const DEFAULT_DATA_DIR = path.join(PACKAGE_ROOT, 'data');
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

/** A zoo model as the measurement sees it: its folder, content hash and metadata. */
export interface ZooEntry {
  info: ModelInfo;
  dir: string;
  hash: string;
}

/** Reads models/index.json and each listed model's meta.json (kind, split points, bottleneck). */
export function readZooIndex(zooDir: string, only?: string[]): ZooEntry[] {
  const indexFile = path.join(zooDir, 'index.json');
  if (!fs.existsSync(indexFile)) {
    throw new UserError(`${indexFile}: model zoo index not found (train and export the zoo first, see training/)`);
  }
  let names: unknown;
  try {
    names = JSON.parse(fs.readFileSync(indexFile, 'utf8'));
  } catch (e) {
    throw new UserError(`${indexFile}: not valid JSON (${(e as Error).message})`);
  }
  const list = Array.isArray(names) ? names : (names as { models?: unknown })?.models;
  if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) {
    throw new UserError(`${indexFile}: expected a JSON list of model names`);
  }
  if (only) {
    for (const m of only) if (!list.includes(m)) throw new UserError(`--models: '${m}' is not in ${indexFile} (it has: ${list.join(', ')})`);
  }
  return (list as string[])
    .filter((name) => !only || only.includes(name))
    .map((name) => {
      const dir = path.join(zooDir, name);
      const meta = readZooMeta(dir);
      return {
        info: { name, kind: meta.kind, splitPoints: meta.splitPoints, bottleneckLayer: meta.bottleneck?.layer },
        dir,
        hash: hashModelDir(dir),
      };
    });
}

/** Options of a measurement. */
export interface MeasureOptions {
  samples?: number;
  seed?: number;
  models?: string[];
  zooDir?: string;
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
  /** Keeps only the pipelines for which this returns true. */
  filter?: (p: PipelineSpec) => boolean;
  /** How processes load models and data (default: the zoo's loaders). */
  env?: JobEnvironment;
}

/** One measured pipeline: its spec, per-sample results and aggregate row. */
export interface MeasuredPipeline {
  spec: PipelineSpec;
  name: string;
  results: SampleResults;
  row: MeasurementRow;
  cached: boolean;
}

/** What a measurement produced and what made it. */
export interface MeasureResult {
  pipelines: MeasuredPipeline[];
  backend: string;
  seed: number;
  indices: number[];
  models: Array<{ name: string; hash: string }>;
  measuredCount: number;
  cachedCount: number;
  wallS: number;
  workers: number;
}

function defaultEnv(): JobEnvironment {
  // Loaded lazily: tfjs and the zoo are only needed when something must be run.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('./zooRunner') as typeof import('./zooRunner')).zooEnvironment;
}

/** Resolves the zoo, data and cache folders, starts the backend and draws the samples. */
async function openZoo(opts: Omit<MeasureOptions, 'filter' | 'workers' | 'progress' | 'useCache'>, seed: number) {
  const zooDir = path.resolve(opts.zooDir ?? DEFAULT_ZOO_DIR);
  const dataDir = path.resolve(opts.dataDir ?? DEFAULT_DATA_DIR);
  const cacheDir = path.resolve(opts.cacheDir ?? defaultCacheDir());
  const env = opts.env ?? defaultEnv();
  const entries = readZooIndex(zooDir, opts.models);
  const backend = await env.init();
  const indices = selectSamples(env.loadData(dataDir).n, opts.samples, seed);
  const samplesHash = hashSamples(indices);
  const hashes = new Map(entries.map((e) => [e.info.name, e.hash]));
  return { zooDir, dataDir, cacheDir, env, entries, backend, indices, samplesHash, hashes };
}

/** Measures every pipeline of the (selected) zoo models, using the cache where it can. */
export async function measureZoo(opts: MeasureOptions = {}): Promise<MeasureResult> {
  const t0 = Date.now();
  const seed = opts.seed ?? 1;
  if (!(Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff)) throw new UserError(`--seed: expected an integer from 0 to 4294967295, got ${seed}`);
  const { zooDir, dataDir, cacheDir, env, entries, backend, indices, samplesHash, hashes } = await openZoo(opts, seed);
  let specs = zooPipelines(entries.map((e) => e.info));
  if (opts.filter) specs = specs.filter(opts.filter);

  const useCache = opts.useCache ?? true;
  const keys = new Map<string, string>();
  const found = new Map<string, SampleResults>();
  for (const spec of specs) {
    const key = cacheKey({ modelHash: hashes.get(spec.model)!, split: spec.split, codec: spec.codec, samplesHash, backend });
    keys.set(pipelineName(spec), key);
    if (useCache) {
      const hit = readCacheEntry(cacheDir, key);
      if (hit) found.set(pipelineName(spec), hit.results);
    }
  }
  const pending = specs.filter((s) => !found.has(pipelineName(s)));
  const workers = Math.max(1, opts.workers ?? Math.min(2, require('os').cpus().length));
  let measured = new Map<string, SampleResults>();
  if (pending.length > 0) {
    const units = pending.length * indices.length;
    // Shown on a terminal, and for long runs anywhere (as a line per 10% when not a terminal).
    const show = opts.progress ?? (process.stderr.isTTY === true || units > 100000);
    const progress = new Progress(units, show, `measuring ${pending.length} pipeline(s) x ${indices.length} samples`);
    const out = await runParallel(pending, indices, {
      zooDir,
      dataDir,
      chunk: opts.chunk ?? 200,
      workers,
      env,
      onProgress: (d) => progress.add(d),
    });
    progress.finish();
    if (out.backend !== backend) throw new Error(`workers ran tfjs on ${out.backend}, this process on ${backend}`);
    measured = out.results;
    if (useCache) {
      for (const spec of pending) {
        const name = pipelineName(spec);
        writeCacheEntry(cacheDir, keys.get(name)!, {
          pipeline: name,
          model: spec.model,
          modelHash: hashes.get(spec.model)!,
          split: spec.split,
          codec: spec.codec,
          samples: indices.length,
          samplesHash,
          backend,
          splitsimVersion: SPLITSIM_VERSION,
          createdAt: new Date().toISOString(),
        }, measured.get(name)!);
      }
    }
  }
  const pipelines: MeasuredPipeline[] = specs.map((spec) => {
    const name = pipelineName(spec);
    const results = found.get(name) ?? measured.get(name)!;
    return {
      spec,
      name,
      results,
      cached: found.has(name),
      row: {
        model: spec.model,
        split: spec.split,
        codec: spec.codec.codec,
        params: codecParams(spec.codec),
        kind: spec.kind,
        ...aggregate(results),
        backend,
        model_hash: hashes.get(spec.model)!,
      },
    };
  });
  return {
    pipelines,
    backend,
    seed,
    indices,
    models: entries.map((e) => ({ name: e.info.name, hash: e.hash })),
    measuredCount: pending.length,
    cachedCount: specs.length - pending.length,
    wallS: (Date.now() - t0) / 1000,
    workers,
  };
}

/**
 * Per-sample results of measured pipelines, from the cache (no model runs). Pipelines are
 * named as pipelineName() does: 'model/split/codec[params]', e.g.
 * 'teacher/stage2/quant[bits=8;granularity=channel;entropy=rans]' or
 * 'student-b1/bottleneck/factorized' (the model, split, codec and params columns of
 * measurements.csv). A pipeline not measured with these options (samples, seed, zoo files,
 * backend, code) is a UserError that says which command to run.
 */
export async function measuredSamples(
  names: string[],
  opts: Omit<MeasureOptions, 'filter' | 'workers' | 'progress' | 'useCache'> = {},
): Promise<Map<string, SampleResults>> {
  const { zooDir, cacheDir, entries, backend, samplesHash, hashes } = await openZoo(opts, opts.seed ?? 1);
  const specs = new Map(zooPipelines(entries.map((e) => e.info)).map((s) => [pipelineName(s), s]));
  const out = new Map<string, SampleResults>();
  for (const name of names) {
    const spec = specs.get(name);
    if (!spec) throw new UserError(`pipeline '${name}' is not a pipeline of the zoo in ${zooDir} (names look like 'teacher/stage2/quant[bits=8;granularity=channel;entropy=rans]')`);
    const hit = readCacheEntry(cacheDir, cacheKey({ modelHash: hashes.get(spec.model)!, split: spec.split, codec: spec.codec, samplesHash, backend }));
    if (!hit) {
      const flags = `${opts.samples !== undefined ? ` --samples ${opts.samples}` : ''}${opts.seed !== undefined ? ` --seed ${opts.seed}` : ''}`;
      throw new UserError(`pipeline '${name}' has not been measured for these samples on this backend (${backend}); run 'splitsim measure${flags} --models ${spec.model}' first`);
    }
    out.set(name, hit.results);
  }
  return out;
}

/**
 * Per-sample payload bytes of measured pipelines, from the cache: the empirical payload
 * distribution for the simulator (see measuredSamples for names and errors).
 */
export async function measuredPayloadBytes(
  names: string[],
  opts: Omit<MeasureOptions, 'filter' | 'workers' | 'progress' | 'useCache'> = {},
): Promise<Map<string, Uint32Array>> {
  const all = await measuredSamples(names, opts);
  return new Map([...all].map(([k, v]) => [k, v.bytes]));
}
