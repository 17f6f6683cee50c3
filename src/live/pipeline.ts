/**
 * One pipeline as the live run executes it, for real: on the device, the head and the
 * encoder turn a test image into the bitstream the measurement produced for it, bit for bit;
 * on the server, the decoder and the tail (or the whole model, for input codecs) turn
 * bitstreams back into classes. The same models, runtime (tfjs or ONNX Runtime: the one the
 * prediction's measurement ran on), splits and codecs as measurement (src/measure/run.ts),
 * run one request (device) or one batch (server) at a time.
 */
import { ByteReader } from '../codecs/bitio';
import { createFeatureCodec, decodeFeature, encodeFeature, type FeatureCodec, type FeatureCodecSpec } from '../codecs/feature';
import { decodeImage, encodeImage, type ImageCodecSpec } from '../codecs/image';
import { readShape } from '../codecs/quantize';
import { isInputCodec } from '../codecs/registry';
import type { ImageSet } from '../data/fashion';
import type { ModelRunner } from '../measure/run';
import { loadModelRunner } from '../measure/zooRunner';
import type { RuntimeName } from '../model/runtime';
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
  private readonly codec?: FeatureCodec;
  private readonly image?: ImageCodecSpec;
  /** Pixels of one image (rows x cols x channels of the model input). */
  private readonly pixels: number;

  private constructor(
    readonly ref: PipelineRef,
    private readonly runner: ModelRunner,
    /** The model input's [rows, cols, channels]. */
    private readonly inputShape: number[],
    /** Per-sample shape of what crosses the network (the split tensor, channel-last, or the image). */
    readonly crossingShape: number[],
    /** What runs the model: ONNX Runtime or the tfjs backend (as in measurement results). */
    readonly backend: string,
  ) {
    this.name = pipelineName(ref);
    this.pixels = inputShape.reduce((a, b) => a * b, 1);
    if (ref.codec && isInputCodec(ref.codec)) this.image = ref.codec;
    else if (ref.codec) this.codec = createFeatureCodec(ref.codec as FeatureCodecSpec, runner.codecInfo);
    this.codec?.setShape?.(crossingShape);
  }

  /** Loads a pipeline's model from the zoo on `runtime` (the one its measurement used) and splits it. */
  static async load(ref: PipelineRef, zooDir: string, runtime: RuntimeName): Promise<LivePipeline> {
    const { runner, entry, backend } = await loadModelRunner(ref.model, zooDir, runtime, '--runtime');
    const inputShape = [...entry.meta.input.shape];
    let crossing = inputShape;
    if (ref.split !== INPUT_SPLIT && ref.split !== DEVICE_ONLY) {
      // The split tensor's shape as the codecs see it, from one head run on a blank image.
      crossing = (await runner.head(ref.split, new Uint8Array(inputShape.reduce((a, b) => a * b, 1)), 1)).shape;
    }
    return new LivePipeline(ref, runner, inputShape, crossing, backend);
  }

  get local(): boolean {
    return this.ref.split === DEVICE_ONLY;
  }

  /** The device's work for test image `index` of `data`: head and encoder (or the whole model). */
  async device(data: ImageSet, index: number): Promise<DeviceOutput> {
    const px = this.pixels;
    if (data.rows !== this.inputShape[0] || data.cols !== this.inputShape[1]) throw new Error(`${this.name}: test images of ${data.rows}x${data.cols} do not fit the model input ${this.inputShape.join('x')}`);
    const image = data.images.subarray(index * px, (index + 1) * px);
    if (this.local) {
      const logits = await this.runner.logits(image, 1);
      return { payload: new Uint8Array(0), localClass: softmaxTop(logits, 0, logits.length).cls };
    }
    if (this.image) return { payload: await encodeImage(image, data.cols, data.rows, this.image) };
    const { values } = await this.runner.head(this.ref.split, image, 1);
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

  /** Decodes one payload: an image's pixels (input codecs) or the split tensor's values. */
  private async decodeOne(payload: Uint8Array): Promise<Uint8Array | Float32Array> {
    if (this.image) {
      const [rows, cols] = this.inputShape;
      return decodeImage(payload, cols, rows, this.image);
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
    const stacked = this.image ? new Uint8Array(payloads.length * size) : new Float32Array(payloads.length * size);
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
    const n = good.length;
    const logits = this.image
      ? await this.runner.logits(stacked.subarray(0, n * size) as Uint8Array, n)
      : await this.runner.tailLogits(this.ref.split, stacked.subarray(0, n * size) as Float32Array, this.crossingShape, n);
    const classes = logits.length / n;
    const tailMs = nowMs() - t0;
    good.forEach((i, row) => {
      const top = softmaxTop(logits, row, classes);
      outcomes[i] = { ok: true, cls: top.cls, score: top.score, decodeMs: outcomes[i].decodeMs };
    });
    return { outcomes, tailMs };
  }

  /** A valid payload (of a blank image) to warm the server's decoder and tail up with. */
  async warmupPayload(): Promise<Uint8Array> {
    const [rows, cols] = this.inputShape;
    const blank: ImageSet = { images: new Uint8Array(this.pixels), labels: new Uint8Array(1), n: 1, rows, cols };
    return (await this.device(blank, 0)).payload;
  }
}
