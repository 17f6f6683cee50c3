/**
 * Spreads a measurement over processes. The work is cut into units: one model's pending
 * pipelines on one block of consecutive samples (blocks of a fixed size, so the cut is the
 * same whatever the number of workers). Worker processes (each with its own tfjs backend
 * and libvips, models loaded once) take units one at a time as they become free, which
 * balances the load; every finished unit is handed back at once, so the caller can store
 * it (a killed run keeps its finished units), and per-sample results do not depend on which
 * process ran them. Workers are child processes that receive units over IPC with
 * structured-clone serialisation (typed arrays cross without conversion), and exit when
 * their parent goes away.
 */
import { fork, type ChildProcess } from 'child_process';
import * as path from 'path';
import { pipelineName, type PipelineRef } from '../pipelines/ref';
import type { SampleResults } from './cache';
import { runPipelines, type Dataset, type ModelRunner } from './run';

/** One unit of work: a model's pipelines on a block of samples. */
export interface WorkUnit {
  /** Position of the unit in the run (for the caller's bookkeeping). */
  id: number;
  /** Which block of the run's samples (0-based). */
  block: number;
  model: string;
  modelDir: string;
  dataDir: string;
  pipelines: PipelineRef[];
  /** Sample indices of the block. */
  indices: number[];
  /** Samples per inference batch. */
  chunk: number;
}

/** How a process obtains its models, data and backend. */
export interface JobEnvironment {
  init(): Promise<string>;
  loadData(dataDir: string): Dataset;
  /** Content hash of the dataset's files (part of every cache key). */
  datasetHash(dataDir: string): string;
  loadRunner(name: string, zooDir: string): Promise<ModelRunner>;
}

/** Messages a worker sends to its parent. */
export type WorkerMessage =
  | { type: 'progress'; done: number }
  | { type: 'done'; id: number; backend: string; results: Array<[string, SampleResults]> }
  | { type: 'error'; message: string };

/** Messages a parent sends to a worker. */
export type ParentMessage = { type: 'unit'; unit: WorkUnit } | { type: 'exit' };

/** Runs units in one process, keeping each model's runner and the data loaded between units. */
export class UnitRunner {
  private readonly runners = new Map<string, Promise<ModelRunner>>();
  private readonly data = new Map<string, Dataset>();
  private backend: Promise<string> | undefined;

  constructor(private readonly env: JobEnvironment) {}

  async run(unit: WorkUnit, onProgress?: (done: number) => void): Promise<{ backend: string; results: Map<string, SampleResults> }> {
    const backend = await (this.backend ??= this.env.init());
    let data = this.data.get(unit.dataDir);
    if (!data) this.data.set(unit.dataDir, (data = this.env.loadData(unit.dataDir)));
    let runner = this.runners.get(unit.modelDir);
    if (!runner) this.runners.set(unit.modelDir, (runner = this.env.loadRunner(path.basename(unit.modelDir), path.dirname(unit.modelDir))));
    const results = await runPipelines(await runner, unit.pipelines, data, unit.indices, { chunk: unit.chunk, onProgress });
    return { backend, results };
  }
}

/** Whether child processes can run (they need the compiled JavaScript of the worker). */
export function canFork(): boolean {
  return path.extname(__filename) === '.js';
}

/** Cuts pending pipelines into units: per model, per block of `blockSize` consecutive samples. */
export function makeUnits(pending: PipelineRef[], indices: number[], opts: { modelDirs: Record<string, string>; dataDir: string; blockSize: number; chunk: number }): WorkUnit[] {
  const units: WorkUnit[] = [];
  const models = [...new Set(pending.map((p) => p.model))];
  for (const model of models) {
    const mine = pending.filter((p) => p.model === model);
    for (let start = 0; start < indices.length; start += opts.blockSize) {
      units.push({
        id: units.length, block: start / opts.blockSize, model, modelDir: opts.modelDirs[model], dataDir: opts.dataDir, pipelines: mine,
        indices: indices.slice(start, start + opts.blockSize), chunk: opts.chunk,
      });
    }
  }
  return units;
}

/**
 * Runs units with `workers` processes (in this process when 1, or when there is no compiled
 * worker), calling onUnit with each finished unit's per-sample results. Returns the backend.
 */
export async function runUnits(
  units: WorkUnit[],
  opts: { workers: number; env: JobEnvironment; onUnit: (unit: WorkUnit, results: Map<string, SampleResults>) => void; onProgress?: (done: number) => void },
): Promise<string | undefined> {
  if (units.length === 0) return undefined;
  const W = Math.max(1, Math.min(opts.workers, units.length));
  if (W === 1 || !canFork()) {
    const local = new UnitRunner(opts.env);
    let backend: string | undefined;
    for (const u of units) {
      const r = await local.run(u, opts.onProgress);
      backend = r.backend;
      opts.onUnit(u, r.results);
    }
    return backend;
  }
  return new Promise<string | undefined>((resolve, reject) => {
    const queue = [...units];
    const children: ChildProcess[] = [];
    const backends = new Set<string>();
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
        if (backends.size > 1) reject(new Error(`measurement workers used different tfjs backends: ${[...backends].join(', ')}`));
        else resolve([...backends][0]);
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
          backends.add(m.backend);
          const u = (child as ChildProcess & { unit?: WorkUnit }).unit!;
          try {
            opts.onUnit(u, new Map(m.results));
          } catch (e) {
            finish(e as Error);
            return;
          }
          give(child);
        } else if (m.type === 'error') {
          finish(new Error(`measurement worker: ${m.message}`));
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
