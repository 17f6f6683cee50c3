/**
 * Splits a measurement over processes. Every worker runs every pending pipeline on its own
 * share of the samples (interleaved, so shares are alike), which balances the load without
 * having to predict what each pipeline costs. Workers are child processes (each with its own
 * tfjs backend and libvips) that receive the job over IPC with structured-clone
 * serialisation, so typed arrays cross without conversion.
 */
import { fork } from 'child_process';
import * as path from 'path';
import { pipelineName, type PipelineRef } from '../pipelines/ref';
import type { SampleResults } from './cache';
import { runPipelines, type Dataset, type ModelRunner } from './run';

type PipelineSpec = PipelineRef;

/** A unit of work for one process. */
export interface WorkerJob {
  /** Folder of each model the pipelines use, by name. */
  modelDirs: Record<string, string>;
  dataDir: string;
  pipelines: PipelineSpec[];
  indices: number[];
  chunk: number;
}

/** What a job returns. */
export interface WorkerOutput {
  backend: string;
  results: Map<string, SampleResults>;
}

/** How a process obtains its models, data and backend. */
export interface JobEnvironment {
  init(): Promise<string>;
  loadData(dataDir: string): Dataset;
  /** Content hash of the dataset's files (part of every cache key). */
  datasetHash(dataDir: string): string;
  loadRunner(name: string, zooDir: string): Promise<ModelRunner>;
}

/** Runs a job in this process, model by model. */
export async function runJob(job: WorkerJob, env: JobEnvironment, onProgress?: (done: number) => void): Promise<WorkerOutput> {
  const backend = await env.init();
  const data = env.loadData(job.dataDir);
  const results = new Map<string, SampleResults>();
  const models = [...new Set(job.pipelines.map((p) => p.model))];
  for (const name of models) {
    const dir = job.modelDirs[name];
    if (!dir) throw new Error(`no folder given for model ${name}`);
    const runner = await env.loadRunner(path.basename(dir), path.dirname(dir));
    const mine = job.pipelines.filter((p) => p.model === name);
    const r = await runPipelines(runner, mine, data, job.indices, { chunk: job.chunk, onProgress });
    for (const [k, v] of r) results.set(k, v);
  }
  return { backend, results };
}

/** Messages a worker sends to its parent. */
export type WorkerMessage =
  | { type: 'progress'; done: number }
  | { type: 'done'; backend: string; results: Array<[string, SampleResults]> }
  | { type: 'error'; message: string };

/** Whether child processes can run (they need the compiled JavaScript of the worker). */
export function canFork(): boolean {
  return path.extname(__filename) === '.js';
}

/** Runs a job in a child process. */
export function runJobInChild(job: WorkerJob, onProgress?: (done: number) => void): Promise<WorkerOutput> {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, 'worker.js'), [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let settled = false;
    child.on('message', (m: WorkerMessage) => {
      if (m.type === 'progress') onProgress?.(m.done);
      else if (m.type === 'done') {
        settled = true;
        resolve({ backend: m.backend, results: new Map(m.results) });
        child.disconnect();
      } else if (m.type === 'error') {
        settled = true;
        reject(new Error(`measurement worker: ${m.message}`));
        child.kill();
      }
    });
    child.on('error', (e) => { if (!settled) { settled = true; reject(e); } });
    child.on('exit', (code) => {
      if (!settled) {
        settled = true;
        reject(new Error(`measurement worker exited with code ${code}`));
      }
    });
    child.send(job);
  });
}

/**
 * Runs the pipelines on the samples with `workers` processes (in this process when 1, or
 * when there is no compiled worker) and merges the per-sample results in sample order.
 */
export async function runParallel(
  pipelines: PipelineSpec[],
  indices: number[],
  opts: { modelDirs: Record<string, string>; dataDir: string; chunk: number; workers: number; env: JobEnvironment; onProgress?: (done: number) => void },
): Promise<WorkerOutput> {
  const W = Math.max(1, Math.min(opts.workers, indices.length));
  if (W === 1 || !canFork()) {
    return runJob({ modelDirs: opts.modelDirs, dataDir: opts.dataDir, pipelines, indices, chunk: opts.chunk }, opts.env, opts.onProgress);
  }
  const shares = Array.from({ length: W }, (_, w) => indices.filter((_, i) => i % W === w));
  const outs = await Promise.all(
    shares.map((share) => runJobInChild({ modelDirs: opts.modelDirs, dataDir: opts.dataDir, pipelines, indices: share, chunk: opts.chunk }, opts.onProgress)),
  );
  const backends = [...new Set(outs.map((o) => o.backend))];
  if (backends.length !== 1) throw new Error(`measurement workers used different tfjs backends: ${backends.join(', ')}`);
  const n = indices.length;
  const merged = new Map<string, SampleResults>();
  for (const p of pipelines) {
    const name = pipelineName(p);
    const parts = outs.map((o) => o.results.get(name)!);
    const est = parts[0].estimatedBytes !== undefined;
    const r: SampleResults = {
      bytes: new Uint32Array(n),
      correct: new Uint8Array(n),
      encodeMs: new Float32Array(n),
      decodeMs: new Float32Array(n),
      estimatedBytes: est ? new Float64Array(n) : undefined,
      elements: parts[0].elements,
    };
    parts.forEach((part, w) => {
      for (let j = 0; j < part.bytes.length; j++) {
        const i = w + j * W;
        r.bytes[i] = part.bytes[j];
        r.correct[i] = part.correct[j];
        r.encodeMs[i] = part.encodeMs[j];
        r.decodeMs[i] = part.decodeMs[j];
        if (est) r.estimatedBytes![i] = part.estimatedBytes![j];
      }
    });
    merged.set(name, r);
  }
  return { backend: backends[0], results: merged };
}
