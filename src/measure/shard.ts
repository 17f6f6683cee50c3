/**
 * Scale-out of a measurement: `measure --shard I/N` measures shard I's share of the run's
 * fixed unit list (dealt out by weight, parallel.ts shardUnits) and writes their
 * per-sample results into a partial file; `merge` reads the N partials of a run, checks that
 * they are exactly shards 0..N-1 of one run and cover every (pipeline, block) once, and
 * assembles them into the results one unsharded process gives, from which the same
 * measurements.csv and measurements.json are written.
 */
import * as fs from 'fs';
import * as path from 'path';
import { pipelineName } from '../pipelines/ref';
import { UserError } from '../util/errors';
import { b64, codeHash, fromB64, sha256, type SampleResults } from './cache';
import { assemblePipelines, resultOf, runCacheKeys, runCacheRecord, runId, type MeasureResult, type RunInfo, type ShardResult } from './measure';

/** Format tag of partial files. */
export const PARTIAL_FORMAT = 'splitsim-measure-shard';
const PARTIAL_VERSION = 1;

/** Which shard of how many. */
export interface ShardSpec {
  index: number;
  count: number;
}

/** Parses 'I/N' (0 <= I < N, N <= 10000), as `--shard` takes it. */
export function parseShardSpec(text: string, flag = '--shard'): ShardSpec {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(String(text));
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || !(count >= 1 && count <= 10000 && index < count)) {
    throw new UserError(`${flag}: expected I/N with 0 <= I < N <= 10000 (e.g. 0/4 ... 3/4: shard I of N, counted from 0), got '${text}'`);
  }
  return { index, count };
}

/** File name of a shard's partial results. */
export function partialFileName(s: ShardSpec): string {
  const w = String(s.count - 1).length;
  return `measurements.shard-${String(s.index).padStart(w, '0')}-of-${s.count}.json`;
}

/** The text of a partial file: the run, the shard and its parts, with a checksum over them. */
export function partialText(r: ShardResult): string {
  const body = {
    format: PARTIAL_FORMAT,
    version: PARTIAL_VERSION,
    run: runId(r.info),
    shard: r.shard,
    info: r.info,
    parts: r.parts.map((p) => ({
      pipeline: p.pipeline, block: p.block, samples: p.results.bytes.length, elements: p.results.elements,
      bytes: b64(p.results.bytes), correct: b64(p.results.correct), encodeMs: b64(p.results.encodeMs), decodeMs: b64(p.results.decodeMs),
      estimatedBytes: p.results.estimatedBytes ? b64(p.results.estimatedBytes) : null,
    })),
  };
  const text = JSON.stringify(body);
  return `${text.slice(0, -1)},"checksum":"${sha256(text)}"}\n`;
}

/** A partial file as read. */
export interface Partial {
  file: string;
  run: string;
  shard: ShardSpec;
  info: RunInfo;
  parts: Array<{ pipeline: string; block: number; results: SampleResults }>;
}

/** Reads and checks a partial file; anything wrong with it is a UserError naming it. */
export function readPartial(file: string): Partial {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UserError(`${file}: cannot read partial results (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  const bad = (why: string) => new UserError(`${file}: not a complete partial of 'splitsim measure --shard' (${why})`);
  const m = /,"checksum":"([0-9a-f]{64})"\}\s*$/.exec(text);
  if (!m) throw bad('no checksum at its end: truncated, or another kind of file');
  const body = `${text.slice(0, m.index)}}`;
  if (sha256(body) !== m[1]) throw bad('checksum mismatch: the file was changed or damaged');
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(body) as Record<string, unknown>;
  } catch (e) {
    throw bad((e as Error).message);
  }
  if (j.format !== PARTIAL_FORMAT || j.version !== PARTIAL_VERSION) throw bad(`format ${String(j.format)} version ${String(j.version)}`);
  const info = j.info as RunInfo;
  if (runId(info) !== j.run) throw bad('its run id does not match its run description');
  const shard = j.shard as ShardSpec;
  try {
    const parts = (j.parts as Array<Record<string, unknown>>).map((p, k) => {
      const n = p.samples as number;
      const at = `part ${k} (${String(p.pipeline)}, block ${String(p.block)})`;
      const results: SampleResults = {
        bytes: fromB64(p.bytes, Uint32Array, n, `${at} bytes`),
        correct: fromB64(p.correct, Uint8Array, n, `${at} correct`),
        encodeMs: fromB64(p.encodeMs, Float32Array, n, `${at} encodeMs`),
        decodeMs: fromB64(p.decodeMs, Float32Array, n, `${at} decodeMs`),
        estimatedBytes: p.estimatedBytes ? fromB64(p.estimatedBytes, Float64Array, n, `${at} estimatedBytes`) : undefined,
        elements: p.elements as number,
      };
      return { pipeline: String(p.pipeline), block: Number(p.block), results };
    });
    return { file, run: String(j.run), shard, info, parts };
  } catch (e) {
    throw bad((e as Error).message);
  }
}

/** Partial files among the paths given (a folder stands for the partials in it), sorted. */
export function partialFiles(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch {
      throw new UserError(`${p}: partial file or folder not found`);
    }
    if (st.isDirectory()) {
      const found = fs.readdirSync(p).filter((f) => /^measurements\.shard-\d+-of-\d+\.json$/.test(f)).sort();
      if (found.length === 0) throw new UserError(`${p}: no partial files (measurements.shard-I-of-N.json) in this folder`);
      out.push(...found.map((f) => path.join(p, f)));
    } else out.push(p);
  }
  return out;
}

/**
 * Merges the partials of one run into its results. Refuses (UserError naming the files)
 * partials of different runs, a shard given twice, a missing shard, and shards whose parts
 * do not cover every pipeline and block exactly once. With `cacheDir`, stores each pipeline's
 * whole-run entry there, as an unsharded run does (when this build's code made the partials).
 */
export function mergePartials(partials: Partial[], opts: { cacheDir?: string } = {}): MeasureResult {
  if (partials.length === 0) throw new UserError('merge: no partial files given');
  const runs = new Map<string, Partial[]>();
  for (const p of partials) runs.set(p.run, [...(runs.get(p.run) ?? []), p]);
  if (runs.size > 1) {
    const lines = [...runs].map(([id, ps]) => `  run ${id} (${ps[0].info.pipelines.length} pipelines, ${ps[0].info.indices.length} samples, seed ${ps[0].info.seed}, backend ${ps[0].info.backend}): ${ps.map((p) => p.file).join(', ')}`);
    throw new UserError(`merge: the partials come from ${runs.size} different runs:\n${lines.join('\n')}`);
  }
  const counts = new Set(partials.map((p) => p.shard.count));
  if (counts.size > 1) throw new UserError(`merge: partials of one run cut into different shard counts (${[...counts].join(', ')}): ${partials.map((p) => `${p.file} (${p.shard.index}/${p.shard.count})`).join(', ')}`);
  const count = partials[0].shard.count;
  const byIndex = new Map<number, Partial[]>();
  for (const p of partials) byIndex.set(p.shard.index, [...(byIndex.get(p.shard.index) ?? []), p]);
  const problems: string[] = [];
  for (const [i, ps] of [...byIndex].sort((a, b) => a[0] - b[0])) {
    if (ps.length > 1) problems.push(`shard ${i}/${count} given ${ps.length} times: ${ps.map((p) => p.file).join(', ')}`);
  }
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !byIndex.has(i));
  if (missing.length > 0) problems.push(`shard(s) ${missing.map((i) => `${i}/${count}`).join(', ')} missing (given: ${partials.map((p) => p.file).join(', ')})`);
  if (problems.length > 0) throw new UserError(`merge: ${problems.join('; ')}`);

  const info = partials[0].info;
  const nBlocks = Math.ceil(info.indices.length / info.blockSize);
  const blocks = new Map<string, Array<SampleResults | undefined>>(info.pipelines.map((r) => [pipelineName(r), new Array(nBlocks).fill(undefined)]));
  for (const p of partials) {
    for (const part of p.parts) {
      const slots = blocks.get(part.pipeline);
      if (!slots || !(part.block >= 0 && part.block < nBlocks)) throw new UserError(`${p.file}: part ${part.pipeline} block ${part.block} is not part of its run`);
      if (slots[part.block]) throw new UserError(`${p.file}: ${part.pipeline} block ${part.block} was already given by another partial`);
      slots[part.block] = part.results;
    }
  }
  for (const [name, slots] of blocks) {
    const gap = slots.findIndex((s) => s === undefined);
    if (gap >= 0) throw new UserError(`merge: no partial holds ${name} block ${gap} (the partials were not written by the same splitsim)`);
  }
  const cache = opts.cacheDir && info.codeHash === codeHash()
    ? { dir: opts.cacheDir, keys: runCacheKeys(info), record: (r: RunInfo['pipelines'][number], n: number) => runCacheRecord(info, r, n) }
    : undefined;
  const pipelines = assemblePipelines(info, blocks, new Set(), cache);
  return resultOf(info, pipelines, { measured: pipelines.length, cached: 0, wallS: 0, workers: 0, sampleRuns: 0 });
}
