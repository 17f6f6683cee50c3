/**
 * Spreads a measurement over processes. The work is cut into units: one group of a model's
 * pipelines (those of one split point, which share its head; device-only; or one input codec
 * setting) on one block of consecutive samples. Blocks have a fixed size and groups depend
 * on the pipelines only, so the cut is the same whatever the number of workers or shards
 * (measure/shard.ts takes a deterministic 1/N of the units). Worker processes (each with its own tfjs backend
 * and libvips, models loaded once) take units one at a time as they become free, which
 * balances the load; every finished unit is handed back at once, so the caller can store
 * it (a killed run keeps its finished units), and per-sample results do not depend on which
 * process ran them. Workers are child processes that receive units over IPC with
 * structured-clone serialisation (typed arrays cross without conversion), and exit when
 * their parent goes away.
 */
import { fork, type ChildProcess } from 'child_process';
import * as path from 'path';
import type { Dataset } from '../data/dataset';
import type { DataRef } from '../data/spec';
import { codecName } from '../codecs/registry';
import { DEVICE_ONLY, INPUT_SPLIT, pipelineName, type PipelineRef } from '../pipelines/ref';
import { UserError } from '../util/errors';
import type { SampleResults } from './cache';
import { ORT_BACKEND, type RuntimeName } from '../model/runtime';
import { runPipelines, type ModelRunner } from './run';

/** One unit of work: a group of a model's pipelines on a block of samples. */
export interface WorkUnit {
  /** Position of the unit in the run (for the caller's bookkeeping). */
  id: number;
  /** Which block of the run's samples (0-based). */
  block: number;
  model: string;
  /** The pipelines' group (groupOf). */
  group: string;
  modelDir: string;
  data: DataRef;
  pipelines: PipelineRef[];
  /** Sample indices of the block. */
  indices: number[];
  /** Samples per inference batch. */
  chunk: number;
  /** The runtime that runs the model (decided by the parent) and, for ONNX Runtime, the model file. */
  runtime?: UnitRuntime;
}

/** Which runtime runs a unit's model. */
export interface UnitRuntime {
  runtime: RuntimeName;
  /** The ONNX file, and the folder or file the model is named by (meta.ts modelSource). */
  onnx?: string;
  source?: string;
}

/** How a process obtains its models, data and backend. */
export interface JobEnvironment {
  init(): Promise<string>;
  /**
   * Opens the dataset (its content hash is part of every cache key); `verify` reads every
   * image header first (the parent does, the workers need not).
   */
  loadData(data: DataRef, opts?: { verify?: boolean }): Promise<Dataset>;
  /**
   * The runner of a model folder (zooDir/name) for samples of `data` (its normalization), on
   * the given runtime (default tfjs).
   */
  loadRunner(name: string, zooDir: string, data: Dataset, runtime?: UnitRuntime): Promise<ModelRunner>;
}

/** Messages a worker sends to its parent. */
export type WorkerMessage =
  | { type: 'progress'; done: number }
  | { type: 'done'; id: number; backend: string; results: Array<[string, SampleResults]> }
  | { type: 'error'; message: string; user?: boolean };

/**
 * The group of a pipeline: pipelines of one group run together on a block (a split point's
 * codecs share its head and, where they reconstruct alike, its tail).
 */
export function groupOf(p: PipelineRef): string {
  if (p.split === DEVICE_ONLY) return `${p.model}/${DEVICE_ONLY}`;
  if (p.split === INPUT_SPLIT) return `${p.model}/${INPUT_SPLIT}/${p.codec ? codecName(p.codec) : ''}`;
  return `${p.model}/${p.split}`;
}

/** Messages a parent sends to a worker. */
export type ParentMessage = { type: 'unit'; unit: WorkUnit } | { type: 'exit' };

/** Runs units in one process, keeping each model's runner and the data loaded between units. */
export class UnitRunner {
  private readonly runners = new Map<string, Promise<ModelRunner>>();
  private readonly data = new Map<string, Promise<Dataset>>();
  private backend: Promise<string> | undefined;

  constructor(private readonly env: JobEnvironment) {}

  async run(unit: WorkUnit, onProgress?: (done: number) => void): Promise<{ backend: string; results: Map<string, SampleResults> }> {
    const backend = unit.runtime?.runtime === 'onnxruntime' ? ORT_BACKEND : await (this.backend ??= this.env.init());
    const dataKey = JSON.stringify(unit.data);
    let data = this.data.get(dataKey);
    if (!data) this.data.set(dataKey, (data = this.env.loadData(unit.data)));
    const ds = await data;
    const runnerKey = `${unit.model}\0${unit.modelDir}\0${unit.runtime?.onnx ?? ''}\0${dataKey}`;
    let runner = this.runners.get(runnerKey);
    if (!runner) this.runners.set(runnerKey, (runner = this.env.loadRunner(unit.model, path.dirname(unit.modelDir), ds, unit.runtime)));
    const results = await runPipelines(await runner, unit.pipelines, ds, unit.indices, { chunk: unit.chunk, onProgress });
    return { backend, results };
  }
}

/** Whether child processes can run (they need the compiled JavaScript of the worker). */
export function canFork(): boolean {
  return path.extname(__filename) === '.js';
}

/**
 * Cuts pipelines into units: per block of `blockSize` consecutive samples, per group (in the
 * order the groups are first named). The order, and so each unit's id, depends only on the
 * pipelines and the samples.
 */
export function makeUnits(
  pipelines: PipelineRef[],
  indices: number[],
  opts: { modelDirs: Record<string, string>; runtimes?: Record<string, UnitRuntime>; data: DataRef; blockSize: number; chunk: number },
): WorkUnit[] {
  const groups = new Map<string, PipelineRef[]>();
  for (const p of pipelines) {
    const g = groupOf(p);
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g)!.push(p);
  }
  const units: WorkUnit[] = [];
  for (let start = 0; start < indices.length; start += opts.blockSize) {
    for (const [group, mine] of groups) {
      const model = mine[0].model;
      units.push({
        id: units.length, block: start / opts.blockSize, model, group, modelDir: opts.modelDirs[model], data: opts.data, pipelines: mine,
        indices: indices.slice(start, start + opts.blockSize), chunk: opts.chunk, runtime: opts.runtimes?.[model],
      });
    }
  }
  return units;
}

/** The work of a unit, for balancing: pipeline-samples (what the progress bar counts). */
export function unitWeight(u: WorkUnit): number {
  return u.pipelines.length * u.indices.length;
}

/**
 * The units of shard `index` of `count`: the run's units dealt out by weight, heaviest first
 * (ties by position), each to the shard with the least work so far (ties to the lowest
 * index). It depends on the pipelines and samples only, so every shard of a run computes
 * the same assignment without talking to the others.
 */
export function shardUnits(units: WorkUnit[], index: number, count: number): WorkUnit[] {
  const load = new Array<number>(count).fill(0);
  const mine = new Set<number>();
  const order = [...units].sort((a, b) => unitWeight(b) - unitWeight(a) || a.id - b.id);
  for (const u of order) {
    let best = 0;
    for (let k = 1; k < count; k++) if (load[k] < load[best]) best = k;
    load[best] += unitWeight(u);
    if (best === index) mine.add(u.id);
  }
  return units.filter((u) => mine.has(u.id));
}

/**
 * The order units are handed to workers: block by block (an image folder decodes a block's
 * images once per process), the heaviest units of a block first.
 */
export function workOrder(units: WorkUnit[]): WorkUnit[] {
  return [...units].sort((a, b) => a.block - b.block || unitWeight(b) - unitWeight(a) || a.id - b.id);
}

/**
 * Runs units with `workers` processes (in this process when 1, or when there is no compiled
 * worker), calling onUnit with each finished unit's per-sample results and the backend that
 * ran it.
 */
export async function runUnits(
  units: WorkUnit[],
  opts: { workers: number; env: JobEnvironment; onUnit: (unit: WorkUnit, results: Map<string, SampleResults>, backend: string) => void; onProgress?: (done: number) => void },
): Promise<void> {
  if (units.length === 0) return;
  const W = Math.max(1, Math.min(opts.workers, units.length));
  if (W === 1 || !canFork()) {
    const local = new UnitRunner(opts.env);
    for (const u of units) {
      const r = await local.run(u, opts.onProgress);
      opts.onUnit(u, r.results, r.backend);
    }
    return;
  }
  return new Promise<void>((resolve, reject) => {
    const queue = [...units];
    const children: ChildProcess[] = [];
    let running = 0;
    let failed = false;
    const finish = (e?: Error) => {
      if (failed) return;
      if (e) {
        failed = true;
        for (const c of children) c.kill();
        reject(e);
        return;
      }
      if (running === 0 && queue.length === 0) {
        for (const c of children) if (c.connected) c.send({ type: 'exit' } satisfies ParentMessage);
        resolve();
      }
    };
    const give = (child: ChildProcess) => {
      const u = queue.shift();
      if (!u) { finish(); return; }
      running++;
      (child as ChildProcess & { unit?: WorkUnit }).unit = u;
      child.send({ type: 'unit', unit: u } satisfies ParentMessage);
    };
    for (let w = 0; w < W; w++) {
      const child = fork(path.join(__dirname, 'worker.js'), [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      children.push(child);
      child.on('message', (m: WorkerMessage) => {
        if (failed) return;
        if (m.type === 'progress') opts.onProgress?.(m.done);
        else if (m.type === 'done') {
          running--;
          const u = (child as ChildProcess & { unit?: WorkUnit }).unit!;
          try {
            opts.onUnit(u, new Map(m.results), m.backend);
          } catch (e) {
            finish(e as Error);
            return;
          }
          give(child);
        } else if (m.type === 'error') {
          // Bad input met in a worker (an image that does not decode) is the user's, as in-process.
          finish(m.user ? new UserError(m.message) : new Error(`measurement worker: ${m.message}`));
        }
      });
      child.on('error', (e) => finish(e));
      child.on('exit', (code) => {
        if (!failed && (running > 0 || queue.length > 0) && (child as ChildProcess & { unit?: WorkUnit }).unit) {
          finish(new Error(`measurement worker exited with code ${code}`));
        }
      });
      give(child);
    }
  });
}

/** The results of samples [start, end) of a run's results (copies). */
export function sliceResults(r: SampleResults, start: number, end: number): SampleResults {
  return {
    bytes: r.bytes.slice(start, end),
    correct: r.correct.slice(start, end),
    encodeMs: r.encodeMs.slice(start, end),
    decodeMs: r.decodeMs.slice(start, end),
    estimatedBytes: r.estimatedBytes?.slice(start, end),
    elements: r.elements,
  };
}

/** Reassembles per-sample results of blocks (in block order) into one run's results. */
export function concatResults(parts: SampleResults[]): SampleResults {
  const n = parts.reduce((a, p) => a + p.bytes.length, 0);
  const est = parts.every((p) => p.estimatedBytes !== undefined);
  const r: SampleResults = {
    bytes: new Uint32Array(n),
    correct: new Uint8Array(n),
    encodeMs: new Float32Array(n),
    decodeMs: new Float32Array(n),
    estimatedBytes: est ? new Float64Array(n) : undefined,
    elements: parts[0]?.elements ?? 0,
  };
  let off = 0;
  for (const p of parts) {
    r.bytes.set(p.bytes, off);
    r.correct.set(p.correct, off);
    r.encodeMs.set(p.encodeMs, off);
    r.decodeMs.set(p.decodeMs, off);
    if (est) r.estimatedBytes!.set(p.estimatedBytes!, off);
    off += p.bytes.length;
  }
  return r;
}

export { pipelineName };
