/**
 * One pipeline as the live run executes it, for real: on the device, the head (tfjs) and the
 * encoder turn a test image into the bitstream the measurement produced for it, bit for bit;
 * on the server, the decoder and the tail (or the whole model, for input codecs) turn
 * bitstreams back into classes. The same models, splits and codecs as measurement
 * (src/measure/run.ts), run one request (device) or one batch (server) at a time.
 */
import { ByteReader } from '../codecs/bitio';
import { createFeatureCodec, decodeFeature, encodeFeature, type FeatureCodec, type FeatureCodecSpec } from '../codecs/feature';
import { decodeImage, encodeImage, type ImageCodecSpec } from '../codecs/image';
import { readShape } from '../codecs/quantize';
import { isInputCodec } from '../codecs/registry';
import { toModelInput, type ImageSet } from '../data/fashion';
import { codecInfoOf } from '../measure/zooRunner';
import { tf } from '../model/backend';
import { splitModel } from '../model/split';
import { loadZooModel, type ZooModel } from '../model/zoo';
import { DEVICE_ONLY, INPUT_SPLIT, pipelineName, type PipelineRef } from '../pipelines/ref';

/** What the device produced for one image. */
export interface DeviceOutput {
  /** The bitstream to send (empty for device-only pipelines). */
  payload: Uint8Array;
  /** Device-only pipelines: the class the whole model gave. */
  localClass?: number;
}

/** One request's outcome on the server. */
export type TailOutcome = { ok: true; cls: number; score: number; decodeMs: number } | { ok: false; error: string; decodeMs: number };

/** Feature codecs whose bitstream starts with the tensor's shape (writeShape). */
const SHAPED = new Set(['quant', 'float16', 'float32']);

function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

function softmaxTop(logits: Float32Array, row: number, classes: number): { cls: number; score: number } {
  let best = 0;
  let max = -Infinity;
  for (let c = 0; c < classes; c++) {
    const v = logits[row * classes + c];
    if (v > max) { max = v; best = c; }
  }
  let sum = 0;
  for (let c = 0; c < classes; c++) sum += Math.exp(logits[row * classes + c] - max);
  return { cls: best, score: 1 / sum };
}

/** A loaded pipeline: device half, server half, or both. */
export class LivePipeline {
  readonly name: string;
  /** Per-sample shape of what crosses the network (the split tensor, or the image). */
  readonly crossingShape: number[];
  private readonly head?: tf.LayersModel;
  private readonly tail?: tf.LayersModel;
  private readonly codec?: FeatureCodec;
  private readonly image?: ImageCodecSpec;

  private constructor(readonly ref: PipelineRef, private readonly zm: ZooModel, parts: { head?: tf.LayersModel; tail?: tf.LayersModel }) {
    this.name = pipelineName(ref);
    this.head = parts.head;
    this.tail = parts.tail;
    if (ref.codec && isInputCodec(ref.codec)) this.image = ref.codec;
    else if (ref.codec) this.codec = createFeatureCodec(ref.codec as FeatureCodecSpec, codecInfoOf(zm));
    this.crossingShape = this.head ? (this.head.outputs[0].shape.slice(1) as number[]) : [...zm.meta.input.shape];
    this.codec?.setShape?.(this.crossingShape);
  }

  /** Loads a pipeline's model from the zoo and splits it (tfjs must be initialised). */
  static async load(ref: PipelineRef, zooDir: string): Promise<LivePipeline> {
    const zm = await loadZooModel(ref.model, zooDir);
    if (ref.split === INPUT_SPLIT || ref.split === DEVICE_ONLY) return new LivePipeline(ref, zm, {});
    const sm = splitModel(zm, ref.split);
    return new LivePipeline(ref, zm, { head: sm.head, tail: sm.tail });
  }

  get local(): boolean {
    return this.ref.split === DEVICE_ONLY;
  }

  /** The device's work for test image `index` of `data`: head and encoder (or the whole model). */
  async device(data: ImageSet, index: number): Promise<DeviceOutput> {
    const px = data.rows * data.cols;
    if (this.local) {
      const x = toModelInput(data, [index], this.zm.meta.input);
      const y = this.zm.model.predict(x) as tf.Tensor;
      const logits = y.dataSync() as Float32Array;
      tf.dispose([x, y]);
      return { payload: new Uint8Array(0), localClass: softmaxTop(logits, 0, logits.length).cls };
    }
    if (this.image) return { payload: await encodeImage(data.images.subarray(index * px, (index + 1) * px), data.cols, data.rows, this.image) };
    const x = toModelInput(data, [index], this.zm.meta.input);
    const y = this.head!.predict(x) as tf.Tensor;
    const values = y.dataSync() as Float32Array;
    tf.dispose([x, y]);
    return { payload: await encodeFeature(this.codec!, values, this.crossingShape) };
  }

  /** Checks a feature bitstream's shape header before decoding allocates anything from it. */
  private checkShapeHeader(payload: Uint8Array): void {
    if (!this.codec || !SHAPED.has(this.codec.name)) return;
    let shape: number[];
    try {
      shape = readShape(new ByteReader(payload));
    } catch {
      throw new Error('payload ends inside its shape header');
    }
    const want = this.crossingShape;
    if (shape.length !== want.length || shape.some((d, i) => d !== want[i])) {
      throw new Error(`payload's tensor shape [${shape.join(',')}] is not the split's [${want.join(',')}]`);
    }
  }

  /** Decodes one payload into the model input of one sample (values of crossingShape). */
  private async decodeOne(payload: Uint8Array): Promise<Float32Array> {
    const [rows, cols] = this.zm.meta.input.shape;
    if (this.image) {
      const pixels = await decodeImage(payload, cols, rows, this.image);
      const x = toModelInput(pixels, [0], this.zm.meta.input);
      const v = x.dataSync() as Float32Array;
      x.dispose();
      return Float32Array.from(v);
    }
    this.checkShapeHeader(payload);
    const d = await decodeFeature(this.codec!, payload);
    const want = this.crossingShape;
    if (d.shape.length !== want.length || d.shape.some((x, i) => x !== want[i]) || d.values.length !== want.reduce((a, b) => a * b, 1)) {
      throw new Error(`decoded tensor [${d.shape.join(',')}] is not the split's [${want.join(',')}]`);
    }
    return d.values;
  }

  /**
   * The server's work for a batch: decodes every payload (a bad one fails alone), then runs
   * the tail (input codecs: the whole model) once on the decoded ones together.
   */
  async serve(payloads: Uint8Array[]): Promise<{ outcomes: TailOutcome[]; tailMs: number }> {
    if (this.local) throw new Error(`${this.name} runs on the device; the server has nothing to do`);
    const size = this.crossingShape.reduce((a, b) => a * b, 1);
    const outcomes: TailOutcome[] = [];
    const good: number[] = [];
    const stacked = new Float32Array(payloads.length * size);
    for (let i = 0; i < payloads.length; i++) {
      const t0 = nowMs();
      try {
        const v = await this.decodeOne(payloads[i]);
        stacked.set(v, good.length * size);
        good.push(i);
        outcomes.push({ ok: true, cls: -1, score: NaN, decodeMs: nowMs() - t0 });
      } catch (e) {
        outcomes.push({ ok: false, error: `payload does not decode as ${this.name}: ${(e as Error).message}`, decodeMs: nowMs() - t0 });
      }
    }
    if (good.length === 0) return { outcomes, tailMs: 0 };
    const t0 = nowMs();
    const model = this.tail ?? this.zm.model;
    const x = tf.tensor(stacked.subarray(0, good.length * size), [good.length, ...this.crossingShape]);
    const y = model.predict(x) as tf.Tensor;
    const logits = y.dataSync() as Float32Array;
    const classes = y.shape[y.shape.length - 1] as number;
    tf.dispose([x, y]);
    const tailMs = nowMs() - t0;
    good.forEach((i, row) => {
      const top = softmaxTop(logits, row, classes);
      outcomes[i] = { ok: true, cls: top.cls, score: top.score, decodeMs: outcomes[i].decodeMs };
    });
    return { outcomes, tailMs };
  }

  /** A valid payload (of a blank image) to warm the server's decoder and tail up with. */
  async warmupPayload(): Promise<Uint8Array> {
    const [rows, cols] = this.zm.meta.input.shape;
    const blank: ImageSet = { images: new Uint8Array(rows * cols), labels: new Uint8Array(1), n: 1, rows, cols };
    return (await this.device(blank, 0)).payload;
  }
}
