/**
 * Feature codecs: what a split pipeline sends for an intermediate tensor. Codecs are built
 * from plain data specs (registry keys plus parameters), so pipelines are configs.
 *
 * - `quant`: uniform quantisation (2..8 bits, per tensor or per channel) with a header
 *   (shape, scale, offset), then an entropy stage: `packed` (bit packing), `deflate`,
 *   `brotli` (Node's zlib on the packed bytes) or `rans` (per-tensor histogram model sent as
 *   side information, then rANS).
 * - `float16`, `float32`: the raw tensor with its shape.
 * - `factorized`: a bottleneck student's latent, coded with rANS under the learned
 *   factorized prior from the model's meta.json (no header: the receiver has the model).
 * - `fixedquant`: the channel-reduction baseline's latent, quantised with the scale and zero
 *   point from its meta.json, then one of the entropy stages above.
 * - `hyperprior`: a hyperprior model's latent with its side information (hyperprior.ts).
 * - `tiled-jpeg`, `tiled-webp`: codec feature compression, the tensor's channels tiled into an
 *   8-bit image coded with JPEG or WebP (tiled.ts; asynchronous, through `asyncCoder`).
 *
 * Every codec's decode returns exactly `reference(values)`: the tensor the receiver can
 * reconstruct, bit for bit.
 */
import * as zlib from 'zlib';
import { ByteReader, ByteWriter } from './bitio';
import { fromHalfBits, halfTable16, toHalfBits } from './float16';
import { buildHistogramModel, histogramTable, readHistogramModel } from './histogram';
import {
  channelsOf,
  dequantize,
  Granularity,
  packBits,
  quantize,
  Quantized,
  readQuantHeader,
  readShape,
  sizeOf,
  unpackBits,
  writeQuantHeader,
  writeShape,
} from './quantize';
import { RANS_PRECISION, RansTable, ransCostBits, ransDecode, ransEncode } from './rans';
import { HyperpriorCoder, type HyperpriorModel } from './hyperprior';
import { TiledImageCodec, type TiledCodecSpec } from './tiled';

/** Lossless stage applied to quantised symbols. */
export type EntropyStage = 'packed' | 'deflate' | 'brotli' | 'rans';
export const ENTROPY_STAGES: readonly EntropyStage[] = ['packed', 'deflate', 'brotli', 'rans'];

/** Data description of a feature codec (what configs and caches name). */
export type FeatureCodecSpec =
  | { codec: 'quant'; bits: number; granularity: Granularity; entropy: EntropyStage }
  | { codec: 'float16' }
  | { codec: 'float32' }
  | { codec: 'factorized' }
  | { codec: 'fixedquant'; entropy: EntropyStage }
  | { codec: 'hyperprior' }
  | TiledCodecSpec;

/** The entropy model of a bottleneck student, as in the zoo's meta.json. */
export interface FactorizedPrior {
  latentShape: number[];
  medians: number[];
  precision: number;
  minQ: number[];
  lengths: number[];
  cdfs: number[][];
  pmfs: number[][];
  likelihoodBound: number;
}

/** The channel-reduction latent's fixed 8-bit quantiser, as in the zoo's meta.json. */
export interface FixedQuantizer {
  latentShape: number[];
  quantBits: number;
  scale: number[];
  zeroPoint: number[];
}

/** A feature codec instance. */
export interface FeatureCodec {
  readonly spec: FeatureCodecSpec;
  /** Registry key, e.g. 'quant'. */
  readonly name: string;
  /** Parameters as a stable string, e.g. 'bits=8;granularity=channel;entropy=rans'. */
  readonly params: string;
  /**
   * Identifies the reconstruction: codecs with the same key decode every tensor to the same
   * values (they differ only in their lossless stage), so a tail run can be shared.
   */
  readonly reconstructionKey: string;
  /** Whether estimatedBits is meaningful (entropy-model codecs). */
  readonly hasEstimate: boolean;
  encode(values: Float32Array, shape: readonly number[]): Uint8Array;
  decode(bytes: Uint8Array): { values: Float32Array; shape: number[] };
  /** The tensor decode(encode(values)) returns. */
  reference(values: Float32Array, shape: readonly number[]): Float32Array;
  /** Model estimate of the payload in bits (sum of -log2 p), for entropy-model codecs. */
  estimatedBits(values: Float32Array, shape: readonly number[]): number;
  /**
   * estimatedBits of the tensor last encoded when encoding produced it as a by-product
   * (histogram models), else NaN; saves recomputing it.
   */
  readonly lastEstimatedBits: number;
  /**
   * For codecs that are a lossy step followed by a lossless one: the two halves apart, so a
   * caller coding one tensor with several codecs of the same reconstructionKey can run the
   * lossy step once. encode(v) = encodePrepared(prepare(v)), decode(b) = finish(decodePrepared(b)).
   */
  readonly staged?: StagedCodec;
  /**
   * Codecs whose coder is asynchronous (the image coders of sharp): their encode and decode
   * throw, these do the work. Callers go through encodeFeature/decodeFeature.
   */
  /** Tells a codec whose payload does not carry the tensor shape what it is (the model's split). */
  setShape?(shape: readonly number[]): void;
  readonly asyncCoder?: {
    encode(values: Float32Array, shape: readonly number[]): Promise<Uint8Array>;
    decode(bytes: Uint8Array): Promise<{ values: Float32Array; shape: number[] }>;
  };
}

/** Encodes with a feature codec, synchronous or not. */
export async function encodeFeature(codec: FeatureCodec, values: Float32Array, shape: readonly number[]): Promise<Uint8Array> {
  return codec.asyncCoder ? codec.asyncCoder.encode(values, shape) : codec.encode(values, shape);
}

/** Decodes with a feature codec, synchronous or not. */
export async function decodeFeature(codec: FeatureCodec, bytes: Uint8Array): Promise<{ values: Float32Array; shape: number[] }> {
  return codec.asyncCoder ? codec.asyncCoder.decode(bytes) : codec.decode(bytes);
}

/** The lossy/lossless halves of a FeatureCodec (see FeatureCodec.staged). */
export interface StagedCodec {
  prepare(values: Float32Array, shape: readonly number[]): Quantized;
  encodePrepared(q: Quantized): Uint8Array;
  decodePrepared(bytes: Uint8Array): Quantized;
  finish(q: Quantized): { values: Float32Array; shape: number[] };
  /** Whether two prepared tensors are bit-identical (so finish gives identical values). */
  same(a: Quantized, b: Quantized): boolean;
}

function sameQuantized(a: Quantized, b: Quantized): boolean {
  if (a.symbols.length !== b.symbols.length || a.scale.length !== b.scale.length) return false;
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) return false;
  for (let i = 0; i < a.scale.length; i++) {
    if (!Object.is(a.scale[i], b.scale[i]) || !Object.is(a.offset[i], b.offset[i])) return false;
  }
  // Buffer.equals is a memcmp: this check runs for every codec and sample of a measurement.
  return Buffer.from(a.symbols.buffer, a.symbols.byteOffset, a.symbols.length).equals(
    Buffer.from(b.symbols.buffer, b.symbols.byteOffset, b.symbols.length),
  );
}

/** Formats a spec's parameters as 'k=v;k=v' (stable order, no codec name). */
export function specParams(spec: FeatureCodecSpec): string {
  const { codec: _codec, ...rest } = spec as Record<string, unknown>;
  return Object.entries(rest)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(';');
}

/** zlib level of the `deflate` stage: the default; level 9 takes twice the time for <1% here. */
export const DEFLATE_LEVEL = 6;

/**
 * Brotli quality of the `brotli` stage. Qualities 10-11 add ~10% compression on activations
 * at 30-60x the time (about 0.1 s per 28x28x16 tensor here), which would make a full
 * measurement take hours. On the teacher's activations quality 4 is both smaller and ~30%
 * faster than 5 or 6 (qualities 5-9 model more and win nothing on such data); `npm run bench
 * -- codec` reports qualities 5 and 11 beside it.
 */
export const BROTLI_QUALITY = 4;

function brotliParams(n: number): zlib.BrotliOptions {
  return {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: n,
    },
  };
}

/** One reusable histogram table per alphabet size (tables are refilled per tensor). */
const histTables = new Map<number, RansTable>();
function reusableTable(alphabet: number): RansTable {
  let t = histTables.get(alphabet);
  if (!t) histTables.set(alphabet, (t = histogramTable(alphabet)));
  return t;
}

/**
 * Applies the lossless stage to symbols of `bits` bits, appending to `w`. Returns the
 * histogram model's estimate in bits (side information + sum of -log2 p) for `rans`, else NaN.
 */
function encodeStage(w: ByteWriter, symbols: Uint8Array, bits: number, stage: EntropyStage): number {
  switch (stage) {
    case 'packed':
      w.bytes(packBits(symbols, bits));
      return NaN;
    case 'deflate':
      w.bytes(zlib.deflateRawSync(packBits(symbols, bits), { level: DEFLATE_LEVEL }));
      return NaN;
    case 'brotli': {
      const packed = packBits(symbols, bits);
      w.bytes(zlib.brotliCompressSync(packed, brotliParams(packed.length)));
      return NaN;
    }
    case 'rans': {
      const model = buildHistogramModel(symbols, 1 << bits, reusableTable(1 << bits));
      w.bytes(model.sideInfo);
      w.bytes(ransEncode(symbols, model.table));
      return model.sideBits + model.dataBits;
    }
  }
}

let ransScratch = new Int32Array(0);

/** Inverse of encodeStage: fills `out` with `out.length` symbols from the rest of `r`. */
function decodeStage(r: ByteReader, out: Uint8Array, bits: number, stage: EntropyStage): void {
  const n = out.length;
  const rest = r.rest();
  switch (stage) {
    case 'packed':
      unpackBits(rest, bits, n, out);
      return;
    case 'deflate':
      unpackBits(zlib.inflateRawSync(rest), bits, n, out);
      return;
    case 'brotli':
      unpackBits(zlib.brotliDecompressSync(rest), bits, n, out);
      return;
    case 'rans': {
      const { table, end } = readHistogramModel(rest, 0, 1 << bits, reusableTable(1 << bits));
      if (ransScratch.length < n) ransScratch = new Int32Array(n);
      ransDecode(rest, end, n, table, ransScratch);
      for (let i = 0; i < n; i++) out[i] = ransScratch[i];
      return;
    }
  }
}

/** Histogram-model cost in bits: side information plus sum of -log2 p under it. */
function histogramBits(symbols: Uint8Array, bits: number): number {
  const model = buildHistogramModel(symbols, 1 << bits, reusableTable(1 << bits));
  return model.sideBits + model.dataBits;
}

function checkShape(values: Float32Array, shape: readonly number[], expected?: readonly number[]): void {
  if (values.length !== sizeOf(shape)) throw new Error(`codec: ${values.length} values for shape [${shape.join(',')}]`);
  if (expected && (expected.length !== shape.length || expected.some((d, i) => d !== shape[i]))) {
    throw new Error(`codec: tensor shape [${shape.join(',')}] differs from the model's [${expected.join(',')}]`);
  }
}

/**
 * A codec that quantizes (the lossy half) and then codes the symbols (the lossless half);
 * encode/decode compose the halves so both paths run the same code.
 */
abstract class StagedFeatureCodec implements StagedCodec {
  readonly staged: StagedCodec = this;
  abstract prepare(values: Float32Array, shape: readonly number[]): Quantized;
  abstract encodePrepared(q: Quantized): Uint8Array;
  abstract decodePrepared(bytes: Uint8Array): Quantized;
  abstract finish(q: Quantized): { values: Float32Array; shape: number[] };
  same(a: Quantized, b: Quantized): boolean {
    return sameQuantized(a, b);
  }
  encode(values: Float32Array, shape: readonly number[]): Uint8Array {
    return this.encodePrepared(this.prepare(values, shape));
  }
  decode(bytes: Uint8Array): { values: Float32Array; shape: number[] } {
    return this.finish(this.decodePrepared(bytes));
  }
}

class QuantCodec extends StagedFeatureCodec implements FeatureCodec {
  readonly name = 'quant';
  readonly params: string;
  readonly reconstructionKey: string;
  readonly hasEstimate: boolean;
  lastEstimatedBits = NaN;
  constructor(readonly spec: Extract<FeatureCodecSpec, { codec: 'quant' }>) {
    super();
    this.params = specParams(spec);
    this.reconstructionKey = `quant;bits=${spec.bits};granularity=${spec.granularity}`;
    this.hasEstimate = spec.entropy === 'rans';
  }
  prepare(values: Float32Array, shape: readonly number[]): Quantized {
    checkShape(values, shape);
    return quantize(values, shape, this.spec.bits, this.spec.granularity);
  }
  encodePrepared(q: Quantized): Uint8Array {
    const w = new ByteWriter();
    writeQuantHeader(w, q);
    const header = w.length;
    this.lastEstimatedBits = header * 8 + encodeStage(w, q.symbols, q.bits, this.spec.entropy);
    return w.finish();
  }
  decodePrepared(bytes: Uint8Array): Quantized {
    const r = new ByteReader(bytes);
    const q = readQuantHeader(r, this.spec.bits, this.spec.granularity);
    decodeStage(r, q.symbols, q.bits, this.spec.entropy);
    return q;
  }
  finish(q: Quantized): { values: Float32Array; shape: number[] } {
    return { values: dequantize(q), shape: [...q.shape] };
  }
  reference(values: Float32Array, shape: readonly number[]): Float32Array {
    return dequantize(quantize(values, shape, this.spec.bits, this.spec.granularity));
  }
  estimatedBits(values: Float32Array, shape: readonly number[]): number {
    const q = quantize(values, shape, this.spec.bits, this.spec.granularity);
    const w = new ByteWriter();
    writeQuantHeader(w, q);
    return w.length * 8 + histogramBits(q.symbols, q.bits);
  }
}

class FloatCodec implements FeatureCodec {
  readonly params = '';
  readonly hasEstimate = false;
  readonly lastEstimatedBits = NaN;
  readonly name: string;
  readonly reconstructionKey: string;
  constructor(readonly spec: Extract<FeatureCodecSpec, { codec: 'float16' | 'float32' }>) {
    this.name = spec.codec;
    this.reconstructionKey = spec.codec;
  }
  encode(values: Float32Array, shape: readonly number[]): Uint8Array {
    checkShape(values, shape);
    const w = new ByteWriter();
    writeShape(w, shape);
    const head = w.finish();
    const width = this.spec.codec === 'float16' ? 2 : 4;
    const out = new Uint8Array(head.length + values.length * width);
    out.set(head);
    if (width === 2) {
      for (let i = 0, o = head.length; i < values.length; i++, o += 2) {
        const h = toHalfBits(values[i]);
        out[o] = h & 0xff;
        out[o + 1] = h >>> 8;
      }
    } else {
      const view = new DataView(out.buffer, head.length);
      for (let i = 0; i < values.length; i++) view.setFloat32(4 * i, values[i], true);
    }
    return out;
  }
  decode(bytes: Uint8Array): { values: Float32Array; shape: number[] } {
    const r = new ByteReader(bytes);
    const shape = readShape(r);
    const n = sizeOf(shape);
    const width = this.spec.codec === 'float16' ? 2 : 4;
    const body = r.bytes(n * width);
    const values = new Float32Array(n);
    if (width === 2) {
      const table = halfTable16();
      for (let i = 0; i < n; i++) values[i] = table[body[2 * i] | (body[2 * i + 1] << 8)];
    } else {
      const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
      for (let i = 0; i < n; i++) values[i] = view.getFloat32(4 * i, true);
    }
    return { values, shape };
  }
  reference(values: Float32Array): Float32Array {
    if (this.spec.codec === 'float32') return Float32Array.from(values);
    return Float32Array.from(values, (v) => fromHalfBits(toHalfBits(v)));
  }
  estimatedBits(): number {
    return NaN;
  }
}

/** Rounds each latent value to its integer symbol around the channel median. */
function latentSymbols(values: Float32Array, medians: Float64Array): Int32Array {
  const C = medians.length;
  const q = new Int32Array(values.length);
  for (let i = 0, c = 0; i < values.length; i++) {
    q[i] = Math.round(values[i] - medians[c]);
    if (++c === C) c = 0;
  }
  return q;
}

class FactorizedCodec implements FeatureCodec {
  readonly name = 'factorized';
  readonly params = '';
  readonly reconstructionKey = 'factorized';
  readonly hasEstimate = true;
  readonly lastEstimatedBits = NaN;
  readonly spec: FeatureCodecSpec = { codec: 'factorized' };
  readonly table: RansTable;
  private readonly medians: Float64Array;
  /** -log2 of the model likelihood per (channel, table index), floored at likelihoodBound. */
  private readonly nll: Float64Array[];
  private readonly shape: number[];
  private readonly out: Int32Array;
  constructor(private readonly prior: FactorizedPrior) {
    const C = channelsOf(prior.latentShape);
    const fields: Array<[string, number]> = [
      ['medians', prior.medians.length],
      ['minQ', prior.minQ.length],
      ['lengths', prior.lengths.length],
      ['cdfs', prior.cdfs.length],
      ['pmfs', prior.pmfs.length],
    ];
    for (const [field, len] of fields) {
      if (len !== C) throw new Error(`factorized prior: ${field} has ${len} entries for ${C} channels`);
    }
    if (prior.precision !== RANS_PRECISION) {
      throw new Error(`factorized prior: precision ${prior.precision}, the coder uses ${RANS_PRECISION}`);
    }
    prior.cdfs.forEach((cdf, c) => {
      if (cdf.length !== prior.lengths[c] + 1) throw new Error(`factorized prior: cdfs[${c}] has ${cdf.length} entries, expected lengths+1 = ${prior.lengths[c] + 1}`);
    });
    this.table = RansTable.fromCdfs(prior.minQ, prior.cdfs, true);
    this.medians = Float64Array.from(prior.medians);
    const bound = prior.likelihoodBound > 0 ? prior.likelihoodBound : 1e-9;
    this.nll = prior.pmfs.map((p) => Float64Array.from(p, (v) => -Math.log2(Math.max(v, bound))));
    this.shape = [...prior.latentShape];
    this.out = new Int32Array(sizeOf(this.shape));
  }
  encode(values: Float32Array, shape: readonly number[]): Uint8Array {
    checkShape(values, shape, this.shape);
    return ransEncode(latentSymbols(values, this.medians), this.table);
  }
  /** Symbols the encoder sends (for tests and golden checks). */
  symbols(values: Float32Array): Int32Array {
    return latentSymbols(values, this.medians);
  }
  decode(bytes: Uint8Array): { values: Float32Array; shape: number[] } {
    const n = this.out.length;
    const end = ransDecode(bytes, 0, n, this.table, this.out);
    if (end !== bytes.length) throw new Error(`factorized: ${bytes.length - end} trailing byte(s)`);
    const values = new Float32Array(n);
    const C = this.medians.length;
    for (let i = 0, c = 0; i < n; i++) {
      values[i] = this.out[i] + this.medians[c];
      if (++c === C) c = 0;
    }
    return { values, shape: [...this.shape] };
  }
  reference(values: Float32Array, shape: readonly number[]): Float32Array {
    checkShape(values, shape, this.shape);
    const q = latentSymbols(values, this.medians);
    const C = this.medians.length;
    const out = new Float32Array(q.length);
    for (let i = 0, c = 0; i < q.length; i++) {
      out[i] = q[i] + this.medians[c];
      if (++c === C) c = 0;
    }
    return out;
  }
  /** Sum of -log2 of the model likelihoods (the learned prior, not its 16-bit table). */
  estimatedBits(values: Float32Array, shape: readonly number[]): number {
    checkShape(values, shape, this.shape);
    const q = latentSymbols(values, this.medians);
    const C = this.medians.length;
    let bits = 0;
    for (let i = 0, c = 0; i < q.length; i++) {
      const idx = q[i] - this.prior.minQ[c];
      const last = this.prior.lengths[c] - 1;
      bits += this.nll[c][idx >= 0 && idx < last ? idx : last];
      if (++c === C) c = 0;
    }
    return bits;
  }
  /** Sum of -log2 p under the coder's 16-bit table, plus escape bypass bits. */
  tableBits(values: Float32Array): number {
    return ransCostBits(latentSymbols(values, this.medians), this.table);
  }
}

class FixedQuantCodec extends StagedFeatureCodec implements FeatureCodec {
  readonly name = 'fixedquant';
  readonly params: string;
  readonly reconstructionKey = 'fixedquant';
  readonly hasEstimate: boolean;
  lastEstimatedBits = NaN;
  private readonly scale: Float64Array;
  private readonly zero: Float64Array;
  private readonly levels: number;
  private readonly scale32: Float32Array;
  private readonly zero32: Float32Array;
  constructor(readonly spec: Extract<FeatureCodecSpec, { codec: 'fixedquant' }>, private readonly fq: FixedQuantizer) {
    super();
    this.params = specParams(spec);
    this.hasEstimate = spec.entropy === 'rans';
    const C = channelsOf(fq.latentShape);
    if (fq.scale.length !== fq.zeroPoint.length || (fq.scale.length !== 1 && fq.scale.length !== C)) {
      throw new Error(`fixedquant: scale/zeroPoint need 1 or ${C} entries, got ${fq.scale.length}/${fq.zeroPoint.length}`);
    }
    if (!(fq.quantBits >= 1 && fq.quantBits <= 8)) throw new Error(`fixedquant: quantBits ${fq.quantBits} not in 1..8`);
    this.scale = Float64Array.from(fq.scale);
    this.zero = Float64Array.from(fq.zeroPoint);
    this.scale32 = Float32Array.from(fq.scale);
    this.zero32 = Float32Array.from(fq.zeroPoint);
    this.levels = (1 << fq.quantBits) - 1;
  }
  private symbols(values: Float32Array): Uint8Array {
    const C = this.scale.length;
    const out = new Uint8Array(values.length);
    for (let i = 0, c = 0; i < values.length; i++) {
      let q = Math.round(values[i] / this.scale[c]) + this.zero[c];
      if (q < 0) q = 0;
      else if (q > this.levels) q = this.levels;
      out[i] = q;
      if (++c === C) c = 0;
    }
    return out;
  }
  private values(symbols: Uint8Array): Float32Array {
    const C = this.scale.length;
    const out = new Float32Array(symbols.length);
    for (let i = 0, c = 0; i < symbols.length; i++) {
      out[i] = (symbols[i] - this.zero[c]) * this.scale[c];
      if (++c === C) c = 0;
    }
    return out;
  }
  private wrap(symbols: Uint8Array): Quantized {
    // scale/offset here only identify the (fixed) quantiser; values() does the mapping.
    return { shape: [...this.fq.latentShape], bits: this.fq.quantBits, granularity: 'channel', scale: this.scale32, offset: this.zero32, symbols };
  }
  prepare(values: Float32Array, shape: readonly number[]): Quantized {
    checkShape(values, shape, this.fq.latentShape);
    return this.wrap(this.symbols(values));
  }
  encodePrepared(q: Quantized): Uint8Array {
    const w = new ByteWriter();
    this.lastEstimatedBits = encodeStage(w, q.symbols, this.fq.quantBits, this.spec.entropy);
    return w.finish();
  }
  decodePrepared(bytes: Uint8Array): Quantized {
    const symbols = new Uint8Array(sizeOf(this.fq.latentShape));
    decodeStage(new ByteReader(bytes), symbols, this.fq.quantBits, this.spec.entropy);
    return this.wrap(symbols);
  }
  finish(q: Quantized): { values: Float32Array; shape: number[] } {
    return { values: this.values(q.symbols), shape: [...this.fq.latentShape] };
  }
  reference(values: Float32Array, shape: readonly number[]): Float32Array {
    checkShape(values, shape, this.fq.latentShape);
    return this.values(this.symbols(values));
  }
  estimatedBits(values: Float32Array): number {
    return histogramBits(this.symbols(values), this.fq.quantBits);
  }
}

/**
 * The hyperprior codec of a model's bottleneck (codecs/hyperprior.ts): y coded under the
 * Gaussian conditional whose scales (and means) h_s derives from the coded side information.
 */
class HyperpriorFeatureCodec implements FeatureCodec {
  readonly name = 'hyperprior';
  readonly params = '';
  readonly reconstructionKey = 'hyperprior';
  readonly hasEstimate = true;
  readonly lastEstimatedBits = NaN;
  readonly spec: FeatureCodecSpec = { codec: 'hyperprior' };
  readonly coder: HyperpriorCoder;
  private readonly shape: number[];
  constructor(model: HyperpriorModel) {
    this.coder = new HyperpriorCoder(model);
    this.shape = [...model.latentShape];
  }
  encode(values: Float32Array, shape: readonly number[]): Uint8Array {
    checkShape(values, shape, this.shape);
    return this.coder.encode(values);
  }
  decode(bytes: Uint8Array): { values: Float32Array; shape: number[] } {
    return { values: this.coder.decode(bytes), shape: [...this.shape] };
  }
  reference(values: Float32Array, shape: readonly number[]): Float32Array {
    checkShape(values, shape, this.shape);
    return this.coder.reference(values);
  }
  estimatedBits(values: Float32Array, shape: readonly number[]): number {
    checkShape(values, shape, this.shape);
    return this.coder.estimatedBits(values);
  }
}

/** What model-specific codecs need from the model's metadata. */
export interface CodecModelInfo {
  prior?: FactorizedPrior;
  fixedQuantizer?: FixedQuantizer;
  hyperprior?: HyperpriorModel;
}

/** Builds a feature codec from its spec (the registry). */
export function createFeatureCodec(spec: FeatureCodecSpec, model: CodecModelInfo = {}): FeatureCodec {
  switch (spec.codec) {
    case 'quant':
      if (!Number.isInteger(spec.bits) || spec.bits < 1 || spec.bits > 8) throw new Error(`quant: bits must be 1..8, got ${spec.bits}`);
      if (!ENTROPY_STAGES.includes(spec.entropy)) throw new Error(`quant: unknown entropy stage '${spec.entropy}'`);
      return new QuantCodec(spec);
    case 'float16':
    case 'float32':
      return new FloatCodec(spec);
    case 'factorized':
      if (!model.prior) throw new Error('factorized codec needs the model\'s entropy prior (bottleneck.entropy in meta.json)');
      return new FactorizedCodec(model.prior);
    case 'fixedquant':
      if (!model.fixedQuantizer) throw new Error('fixedquant codec needs the model\'s quantiser (bottleneck.scale/zeroPoint in meta.json)');
      return new FixedQuantCodec(spec, model.fixedQuantizer);
    case 'hyperprior':
      if (!model.hyperprior) throw new Error('hyperprior codec needs the model\'s hyperprior (bottleneck.hyperprior in meta.json)');
      return new HyperpriorFeatureCodec(model.hyperprior);
    case 'tiled-jpeg':
    case 'tiled-webp':
      return new TiledImageCodec(spec);
  }
}

export { FactorizedCodec, HyperpriorFeatureCodec };
