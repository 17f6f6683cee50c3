/**
 * Runs pipelines over samples, for real: every payload is a bitstream that is decoded, and
 * the decoded data goes through the tail (or the whole model on the server for input
 * codecs). Head outputs are computed once per split point and chunk of samples and shared
 * by the split's codecs; codecs that reconstruct the same tensor (they differ only in the
 * lossless stage) share one tail run, after a bitwise check that their decoders agree.
 */
import { createFeatureCodec, FeatureCodec, type CodecModelInfo, type FeatureCodecSpec, type StagedCodec } from '../codecs/feature';
import type { Quantized } from '../codecs/quantize';
import { decodeImage, encodeImage, isLossless, type ImageCodecSpec } from '../codecs/image';
import { isInputCodec } from '../codecs/registry';
import { DEVICE_ONLY, INPUT_SPLIT, pipelineName, type PipelineRef } from '../pipelines/ref';
import type { Dataset } from '../data/dataset';
import type { SampleResults } from './cache';

type PipelineSpec = PipelineRef;

export type { Dataset };

/** What the runner needs from a model: whole-model, head and tail inference on batches. */
export interface ModelRunner {
  readonly name: string;
  /** What model-specific codecs need (entropy prior, fixed quantiser). */
  readonly codecInfo: CodecModelInfo;
  /** Predicted class of each image (n images of rows*cols*channels pixels, as the dataset gives them). */
  classify(images: Uint8Array, n: number): Promise<Int32Array>;
  /** The whole model's outputs (n x classes) on n images; classify is their argmaxRows. */
  logits(images: Uint8Array, n: number): Promise<Float32Array>;
  /** Head outputs at a split point: the per-sample shape and all n samples' values. */
  head(split: string, images: Uint8Array, n: number): Promise<{ shape: number[]; values: Float32Array }>;
  /**
   * Head outputs at several split points in one pass (optional; shares the layers the heads
   * have in common). Same results as calling head() for each.
   */
  heads?(splits: string[], images: Uint8Array, n: number): Promise<Map<string, { shape: number[]; values: Float32Array }>>;
  /** Predicted class of each of n head outputs after the tail. */
  tailClassify(split: string, values: Float32Array, shape: number[], n: number): Promise<Int32Array>;
  /** The tail's outputs (n x classes) on n head outputs; tailClassify is their argmaxRows. */
  tailLogits(split: string, values: Float32Array, shape: number[], n: number): Promise<Float32Array>;
}

/** Index of the largest value of each of n rows (the first, on a tie): the class of each output. */
export function argmaxRows(values: Float32Array, n: number): Int32Array {
  const per = values.length / n;
  const out = new Int32Array(n);
  for (let s = 0; s < n; s++) {
    let best = 0;
    let max = -Infinity;
    for (let k = 0; k < per; k++) {
      const v = values[s * per + k];
      if (v > max) { max = v; best = k; }
    }
    out[s] = best;
  }
  return out;
}

/** CPU time of this process in ms (all threads: libvips work on the thread pool counts). */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function newResults(n: number, withEstimate: boolean): SampleResults {
  return {
    bytes: new Uint32Array(n),
    correct: new Uint8Array(n),
    encodeMs: new Float32Array(n),
    decodeMs: new Float32Array(n),
    estimatedBytes: withEstimate ? new Float64Array(n) : undefined,
    elements: 0,
  };
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return false;
  return true;
}

/** Options of runPipelines. */
export interface RunOptions {
  /** Samples per inference batch (default 200). */
  chunk?: number;
  /** Called with the number of (pipeline, sample) pairs just finished. */
  onProgress?: (done: number) => void;
}

/**
 * Runs `pipelines` (all of `runner`'s model) on the samples `indices` of `data` and returns
 * each pipeline's per-sample results, in the order of `indices`.
 */
export async function runPipelines(
  runner: ModelRunner,
  pipelines: PipelineSpec[],
  data: Dataset,
  indices: ArrayLike<number>,
  opts: RunOptions = {},
): Promise<Map<string, SampleResults>> {
  const n = indices.length;
  const chunk = Math.max(1, opts.chunk ?? 200);
  const px = data.rows * data.cols * data.channels;
  const results = new Map<string, SampleResults>();
  const splits = new Map<string, PipelineSpec[]>();
  for (const p of pipelines) {
    if (p.model !== runner.name) throw new Error(`pipeline ${pipelineName(p)} is not for model ${runner.name}`);
    if (!splits.has(p.split)) splits.set(p.split, []);
    splits.get(p.split)!.push(p);
  }
  const codecs = new Map<string, FeatureCodec>();
  for (const p of pipelines) {
    const feature = p.codec !== undefined && !isInputCodec(p.codec);
    if (feature) codecs.set(pipelineName(p), createFeatureCodec(p.codec as FeatureCodecSpec, runner.codecInfo));
    results.set(pipelineName(p), newResults(n, feature && codecs.get(pipelineName(p))!.hasEstimate));
  }

  for (let start = 0; start < n; start += chunk) {
    const B = Math.min(chunk, n - start);
    const chunkIndices = Array.from({ length: B }, (_, s) => indices[start + s]);
    const imgs = await data.pixels(chunkIndices);
    const labels = Int32Array.from(chunkIndices, (idx) => data.labels[idx]);
    const featureSplits = [...splits.keys()].filter((s) => s !== INPUT_SPLIT && s !== DEVICE_ONLY);
    const heads = runner.heads && featureSplits.length > 1 ? await runner.heads(featureSplits, imgs, B) : undefined;
    // The unsplit model's answer on the original image: device-only pipelines and lossless
    // input codecs share it (computed once per chunk).
    let rawPred: Int32Array | undefined;
    const raw = async () => (rawPred ??= await runner.classify(imgs, B));
    for (const [split, group] of splits) {
      if (split === DEVICE_ONLY) {
        const pred = await raw();
        for (const p of group) {
          const r = results.get(pipelineName(p))!;
          for (let s = 0; s < B; s++) r.correct[start + s] = pred[s] === labels[s] ? 1 : 0;
          opts.onProgress?.(B);
        }
      } else if (split === INPUT_SPLIT) {
        await runInputGroup(runner, group, imgs, labels, B, data, start, results, opts, raw);
      } else {
        const head = heads?.get(split) ?? (await runner.head(split, imgs, B));
        heads?.delete(split); // release each split's activations once coded
        await runFeatureGroup(runner, split, head, group, codecs, labels, B, start, results, opts);
      }
    }
  }
  return results;
}

async function runInputGroup(
  runner: ModelRunner,
  group: PipelineSpec[],
  imgs: Uint8Array,
  labels: Int32Array,
  B: number,
  data: Dataset,
  start: number,
  results: Map<string, SampleResults>,
  opts: RunOptions,
  raw: () => Promise<Int32Array>,
): Promise<void> {
  const px = data.rows * data.cols * data.channels;
  for (const p of group) {
    const spec = p.codec as ImageCodecSpec;
    const r = results.get(pipelineName(p))!;
    r.elements = px;
    const decoded = new Uint8Array(B * px);
    for (let s = 0; s < B; s++) {
      const pixels = imgs.subarray(s * px, (s + 1) * px);
      const t0 = cpuMs();
      const bytes = await encodeImage(pixels, data.cols, data.rows, spec, data.channels);
      const t1 = cpuMs();
      const back = await decodeImage(bytes, data.cols, data.rows, spec, data.channels);
      const t2 = cpuMs();
      r.bytes[start + s] = bytes.length;
      r.encodeMs[start + s] = t1 - t0;
      r.decodeMs[start + s] = t2 - t1;
      decoded.set(back, s * px);
    }
    let pred: Int32Array;
    if (isLossless(spec.codec)) {
      // Lossless formats give back the original pixels (checked), so the server's answer is
      // the model's answer on the original image, computed once.
      for (let i = 0; i < decoded.length; i++) {
        if (decoded[i] !== imgs[i]) throw new Error(`${pipelineName(p)}: lossless decode differs at pixel ${i % px} of sample ${start + Math.floor(i / px)}`);
      }
      pred = await raw();
    } else {
      pred = await runner.classify(decoded, B);
    }
    for (let s = 0; s < B; s++) r.correct[start + s] = pred[s] === labels[s] ? 1 : 0;
    opts.onProgress?.(B);
  }
}

/**
 * Codes each sample with every codec of a group that shares its lossy step (same
 * quantiser): the step runs once and its CPU time is counted in each codec's encode time;
 * likewise the final dequantisation in each decode time. Every codec's bitstream is decoded,
 * and its decoded tensor must be bit-identical to the first codec's, which feeds the tail.
 */
function codeStaged(
  members: PipelineSpec[],
  staged: StagedCodec[],
  codecs: Map<string, FeatureCodec>,
  values: Float32Array,
  shape: number[],
  size: number,
  B: number,
  start: number,
  results: Map<string, SampleResults>,
  recon: Float32Array,
): void {
  const names = members.map(pipelineName);
  const res = names.map((n) => results.get(n)!);
  for (const r of res) r.elements = size;
  const cods = names.map((n) => codecs.get(n)!);
  for (let s = 0; s < B; s++) {
    const v = values.subarray(s * size, (s + 1) * size);
    const t0 = cpuMs();
    const prepared = staged[0].prepare(v, shape);
    // Each reading of the CPU clock ends one step and starts the next: it is a system call,
    // a few percent of a measurement when taken twice per step. (The checks between a
    // codec's decode and the next codec's encode, a memcmp, land in the next encode.)
    let t1 = cpuMs();
    const prepMs = t1 - t0;
    let first: Quantized | undefined;
    let finishMs = 0;
    for (let m = 0; m < members.length; m++) {
      const r = res[m];
      const bytes = staged[m].encodePrepared(prepared);
      const t2 = cpuMs();
      const back = staged[m].decodePrepared(bytes);
      let t3 = cpuMs();
      if (m === 0) {
        const dec = staged[0].finish(back);
        const t4 = cpuMs();
        finishMs = t4 - t3;
        t3 = t4;
        if (dec.shape.length !== shape.length || dec.shape.some((d, i) => d !== shape[i])) {
          throw new Error(`${names[0]}: decoded shape [${dec.shape.join(',')}] differs from [${shape.join(',')}]`);
        }
        recon.set(dec.values, s * size);
        first = back;
      } else if (!staged[m].same(back, first!)) {
        throw new Error(`${names[m]}: decoded tensor of sample ${start + s} differs from ${names[0]}'s, which should be identical`);
      }
      r.bytes[start + s] = bytes.length;
      r.encodeMs[start + s] = prepMs + (t2 - t1);
      r.decodeMs[start + s] = t3 - t2 + (m === 0 ? 0 : finishMs); // member 0's includes finish
      t1 = t3;
      if (r.estimatedBytes) {
        const est = cods[m].lastEstimatedBits;
        r.estimatedBytes[start + s] = (Number.isFinite(est) ? est : cods[m].estimatedBits(v, shape)) / 8;
      }
    }
  }
}

async function runFeatureGroup(
  runner: ModelRunner,
  split: string,
  head: { shape: number[]; values: Float32Array },
  group: PipelineSpec[],
  codecs: Map<string, FeatureCodec>,
  labels: Int32Array,
  B: number,
  start: number,
  results: Map<string, SampleResults>,
  opts: RunOptions,
): Promise<void> {
  const { shape, values } = head;
  const size = shape.reduce((a, b) => a * b, 1);
  if (values.length !== B * size) throw new Error(`${runner.name}/${split}: head gave ${values.length} values for ${B} x [${shape.join(',')}]`);
  // Codecs that reconstruct identically share the tail: group them by reconstruction key.
  const byKey = new Map<string, PipelineSpec[]>();
  for (const p of group) {
    const key = codecs.get(pipelineName(p))!.reconstructionKey;
    if (!byKey.has(key)) byKey.set(key, []);
    byKey.get(key)!.push(p);
  }
  for (const members of byKey.values()) {
    const recon = new Float32Array(B * size);
    const staged = members.map((p) => codecs.get(pipelineName(p))!.staged);
    if (staged.every((x) => x !== undefined)) {
      codeStaged(members, staged as StagedCodec[], codecs, values, shape, size, B, start, results, recon);
    } else for (const [m, p] of members.entries()) {
      const name = pipelineName(p);
      const codec = codecs.get(name)!;
      const r = results.get(name)!;
      r.elements = size;
      for (let s = 0; s < B; s++) {
        const v = values.subarray(s * size, (s + 1) * size);
        const t0 = cpuMs();
        const bytes = codec.asyncCoder ? await codec.asyncCoder.encode(v, shape) : codec.encode(v, shape);
        const t1 = cpuMs();
        const dec = codec.asyncCoder ? await codec.asyncCoder.decode(bytes) : codec.decode(bytes);
        const t2 = cpuMs();
        r.bytes[start + s] = bytes.length;
        r.encodeMs[start + s] = t1 - t0;
        r.decodeMs[start + s] = t2 - t1;
        if (r.estimatedBytes) {
          const est = codec.lastEstimatedBits;
          r.estimatedBytes[start + s] = (Number.isFinite(est) ? est : codec.estimatedBits(v, shape)) / 8;
        }
        if (dec.shape.length !== shape.length || dec.shape.some((d, i) => d !== shape[i])) {
          throw new Error(`${name}: decoded shape [${dec.shape.join(',')}] differs from [${shape.join(',')}]`);
        }
        const slot = recon.subarray(s * size, (s + 1) * size);
        if (m === 0) slot.set(dec.values);
        else if (!sameBits(slot, dec.values)) {
          throw new Error(`${name}: decoded tensor of sample ${start + s} differs from ${pipelineName(members[0])}'s, which should be identical`);
        }
      }
    }
    const pred = await runner.tailClassify(split, recon, shape, B);
    for (const p of members) {
      const r = results.get(pipelineName(p))!;
      for (let s = 0; s < B; s++) r.correct[start + s] = pred[s] === labels[s] ? 1 : 0;
      opts.onProgress?.(B);
    }
  }
}

export type { FeatureCodecSpec, ImageCodecSpec };
