/**
 * ModelRunner over an ONNX model with ONNX Runtime (onnxruntime-node, CPU, one thread): the
 * whole model, and for each split point a head and a tail extracted from the ModelProto
 * (model/onnx-graph.ts), run in batches. Pixels are normalised exactly as for tfjs (the same
 * float32 values) and laid out as the model takes them; split tensors are handed to the
 * codecs channel-last, as tfjs gives them (model/onnx.ts), so both runtimes code alike.
 */
import type * as OrtTypes from 'onnxruntime-node';
import type { CodecModelInfo } from '../codecs/feature';
import type { Normalization } from '../data/spec';
import { channelLast, createSession, probeTensors, readOnnxFile, type OnnxFile } from '../model/onnx';
import { extractModel } from '../model/onnx-graph';
import { encodeModel } from '../model/onnx-proto';
import { requireOrt } from '../model/runtime';
import { UserError } from '../util/errors';
import { argmaxRows, type ModelRunner } from './run';

/** Float32 model input of n images (uint8 rows x cols x channels each), (p/255 - mean)/std per channel. */
export function normalizedInput(pixels: Uint8Array, n: number, shape: number[], norm: Normalization, layout: OnnxFile['layout']): Float32Array {
  const [rows, cols, channels] = shape;
  const want = norm.order === 'gray' ? 1 : 3;
  if (channels !== want) throw new Error(`normalization for ${norm.order} takes ${want} channel(s), the input has ${channels}`);
  const hw = rows * cols;
  if (pixels.length < n * hw * channels) throw new RangeError(`${pixels.length} pixel values for ${n} images of ${shape.join('x')}`);
  // The same expression as data/preprocess.ts toNormalizedInput (computed in double, rounded to float32).
  const lut = Array.from({ length: channels }, (_, c) => Float32Array.from({ length: 256 }, (_, p) => (p / 255 - norm.mean[c]) / norm.std[c]));
  const src = norm.order === 'bgr' ? [2, 1, 0] : [0, 1, 2];
  const out = new Float32Array(n * hw * channels);
  for (let s = 0; s < n; s++) {
    const base = s * hw * channels;
    for (let c = 0; c < channels; c++) {
      const l = lut[c];
      const from = channels === 1 ? 0 : src[c];
      for (let i = 0; i < hw; i++) {
        const v = l[pixels[base + i * channels + from]];
        out[layout === 'nchw' ? base + c * hw + i : base + i * channels + c] = v;
      }
    }
  }
  return out;
}

/** Moves axis 1 (channels) of n samples of per-sample dims `d` (NCHW-style) last, or back. */
function moveChannels(values: Float32Array, n: number, d: number[], toLast: boolean): Float32Array {
  if (d.length < 2) return values;
  const c = d[0];
  const rest = d.slice(1).reduce((a, b) => a * b, 1);
  const per = c * rest;
  const out = new Float32Array(values.length);
  for (let s = 0; s < n; s++) {
    const o = s * per;
    for (let k = 0; k < c; k++) {
      for (let i = 0; i < rest; i++) {
        if (toLast) out[o + i * c + k] = values[o + k * rest + i];
        else out[o + k * rest + i] = values[o + i * c + k];
      }
    }
  }
  return out;
}

/** Whole-model, head and tail sessions of one ONNX model, built on first use. */
export class OnnxSplitter {
  private readonly sessions = new Map<string, Promise<OrtTypes.InferenceSession>>();
  private readonly ort: typeof OrtTypes;

  constructor(readonly f: OnnxFile, readonly dims: Map<string, number[]>) {
    this.ort = requireOrt(f.file);
  }

  /** Reads, checks and probes an ONNX model; `splits` must be tensors of its graph. */
  static async open(file: string, splits: string[]): Promise<OnnxSplitter> {
    const f = readOnnxFile(file);
    const info = await probeTensors(f);
    const missing = splits.filter((s) => !info.has(s));
    if (missing.length > 0) throw new UserError(`${file}: split point(s) ${missing.join(', ')} are not tensors the model computes from its input`);
    const dims = new Map(splits.map((s) => [s, info.get(s)!.dims]));
    return new OnnxSplitter(f, dims);
  }

  private session(key: string, build: () => Uint8Array): Promise<OrtTypes.InferenceSession> {
    let s = this.sessions.get(key);
    if (!s) this.sessions.set(key, (s = createSession(build(), this.f.file)));
    return s;
  }

  private extract(inputs: string[], outputs: string[], what: string): Uint8Array {
    return encodeModel(extractModel(this.f.model, this.f.index, inputs, outputs, this.dims, this.f.batch, what));
  }

  /** Runs a session on n samples (values: n x per-sample dims) in batches the model accepts. */
  private async run(session: OrtTypes.InferenceSession, input: string, values: Float32Array, perSample: number[], n: number, outputs: string[]): Promise<Float32Array[]> {
    const fixed = this.f.batch;
    const step = fixed ?? n;
    const per = perSample.reduce((a, b) => a * b, 1);
    const parts: Float32Array[][] = outputs.map(() => []);
    for (let start = 0; start < n; start += step) {
      const b = Math.min(step, n - start);
      let data = values.subarray(start * per, (start + b) * per);
      if (fixed !== null && b < fixed) {
        const padded = new Float32Array(fixed * per);
        padded.set(data);
        data = padded;
      }
      const feeds = { [input]: new this.ort.Tensor('float32', data, [fixed ?? b, ...perSample]) };
      const out = await session.run(feeds, outputs);
      outputs.forEach((o, k) => {
        const got = out[o].data as Float32Array;
        parts[k].push(got.slice(0, (got.length / (fixed ?? b)) * b));
      });
    }
    return parts.map((ps) => {
      if (ps.length === 1) return ps[0];
      const all = new Float32Array(ps.reduce((a, p) => a + p.length, 0));
      let off = 0;
      for (const p of ps) { all.set(p, off); off += p.length; }
      return all;
    });
  }

  /** The model input dims of one sample (NCHW or NHWC as the model takes it). */
  get inputDims(): number[] {
    const [h, w, c] = this.f.imageShape;
    return this.f.layout === 'nchw' ? [c, h, w] : [h, w, c];
  }

  /** Output values (n x classes) of the whole model on model inputs. */
  async whole(x: Float32Array, n: number): Promise<Float32Array> {
    const s = await this.session('whole', () => this.f.bytes);
    return (await this.run(s, this.f.index.input, x, this.inputDims, n, [this.f.index.output]))[0];
  }

  /** Values of the split tensors (n x their dims, as the model has them) from model inputs. */
  async heads(splits: string[], x: Float32Array, n: number): Promise<Float32Array[]> {
    const s = await this.session(`head\0${splits.join('\0')}`, () => this.extract([this.f.index.input], splits, `head_${splits.join('+')}`));
    return this.run(s, this.f.index.input, x, this.inputDims, n, splits);
  }

  /** Output values of the tail after `split` on its values (n x its dims, as the model has them). */
  async tail(split: string, v: Float32Array, n: number): Promise<Float32Array> {
    const s = await this.session(`tail\0${split}`, () => this.extract([split], [this.f.index.output], `tail_${split}`));
    return (await this.run(s, split, v, this.dims.get(split)!, n, [this.f.index.output]))[0];
  }

  /** A split tensor's values as splitsim codes them (channel-last) and their per-sample shape. */
  toCoded(split: string, v: Float32Array, n: number): { shape: number[]; values: Float32Array } {
    const d = this.dims.get(split)!;
    const shape = channelLast(d, this.f.layout);
    return { shape, values: this.f.layout === 'nchw' ? moveChannels(v, n, d, true) : v };
  }

  /** Coded (channel-last) values back in the model's layout. */
  fromCoded(split: string, v: Float32Array, n: number): Float32Array {
    return this.f.layout === 'nchw' ? moveChannels(v, n, this.dims.get(split)!, false) : v;
  }
}

/**
 * The ModelRunner of an ONNX model file: `shape` is the image [rows, cols, channels], `norm`
 * the pixel normalisation, `splits` the split points pipelines may use.
 */
export async function loadOnnxRunner(name: string, file: string, opts: { splits: string[]; norm: Normalization; codecInfo: CodecModelInfo }): Promise<ModelRunner> {
  const m = await OnnxSplitter.open(file, opts.splits);
  const shape = [...m.f.imageShape];
  const input = (images: Uint8Array, n: number) => normalizedInput(images, n, shape, opts.norm, m.f.layout);
  const logits = (images: Uint8Array, n: number): Promise<Float32Array> => m.whole(input(images, n), n);
  const tailLogits = (split: string, values: Float32Array, _shape: number[], n: number): Promise<Float32Array> => m.tail(split, m.fromCoded(split, values, n), n);
  return {
    name,
    codecInfo: opts.codecInfo,
    classify: async (images, n) => argmaxRows(await logits(images, n), n),
    logits,
    async head(split, images, n) {
      const [v] = await m.heads([split], input(images, n), n);
      return m.toCoded(split, v, n);
    },
    async heads(list, images, n) {
      const vs = await m.heads(list, input(images, n), n);
      return new Map(list.map((s, i) => [s, m.toCoded(s, vs[i], n)]));
    },
    tailClassify: async (split, values, shape, n) => argmaxRows(await tailLogits(split, values, shape, n), n),
    tailLogits,
  };
}
