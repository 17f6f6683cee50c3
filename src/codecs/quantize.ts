/**
 * Uniform quantisation of activation tensors to 2..8 bits, per tensor or per channel
 * (channel = last axis of an NHWC tensor), and bit packing of the resulting symbols.
 *
 * Scale and offset are rounded to float32 before use, so the numbers written in the header
 * are exactly the ones the encoder quantised with and the decoder dequantises with: the
 * decoded tensor is bit-identical to `dequantize(quantize(x))`.
 */
import { ByteReader, ByteWriter } from './bitio';

/** Quantisation granularity: one (scale, offset) for the tensor or one per channel. */
export type Granularity = 'tensor' | 'channel';

/** A quantised tensor: symbols in [0, 2^bits) and the parameters that map them back. */
export interface Quantized {
  shape: number[];
  bits: number;
  granularity: Granularity;
  /** One entry per channel (or one for the tensor). */
  scale: Float32Array;
  offset: Float32Array;
  symbols: Uint8Array;
}

/** Number of channels an NHWC tensor of this shape has (its last axis). */
export function channelsOf(shape: readonly number[]): number {
  return shape.length === 0 ? 1 : shape[shape.length - 1];
}

/** Product of the dimensions. */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Quantises `values` (NHWC, channel = index % C) uniformly to `bits` bits. */
export function quantize(values: Float32Array, shape: readonly number[], bits: number, granularity: Granularity): Quantized {
  if (!Number.isInteger(bits) || bits < 1 || bits > 8) throw new Error(`quantize: bits must be 1..8, got ${bits}`);
  const n = sizeOf(shape);
  if (values.length !== n) throw new Error(`quantize: ${values.length} values for shape [${shape.join(',')}]`);
  const C = granularity === 'channel' ? channelsOf(shape) : 1;
  const lo = new Float64Array(C).fill(Infinity);
  const hi = new Float64Array(C).fill(-Infinity);
  // v * 0 is NaN exactly for NaN and infinities: one check after the loop instead of per value.
  let poison = 0;
  if (C === 1) {
    let l = Infinity;
    let h = -Infinity;
    for (let i = 0; i < n; i++) {
      const v = values[i];
      poison += v * 0;
      if (v < l) l = v;
      if (v > h) h = v;
    }
    lo[0] = l;
    hi[0] = h;
  } else {
    for (let i = 0, c = 0; i < n; i++) {
      const v = values[i];
      poison += v * 0;
      if (v < lo[c]) lo[c] = v;
      if (v > hi[c]) hi[c] = v;
      if (++c === C) c = 0;
    }
  }
  if (poison !== 0) throw new Error('quantize: the tensor holds non-finite values');
  const levels = (1 << bits) - 1;
  const scale = new Float32Array(C);
  const offset = new Float32Array(C);
  const inv = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    if (lo[c] === Infinity) { lo[c] = 0; hi[c] = 0; }
    offset[c] = lo[c];
    scale[c] = (hi[c] - lo[c]) / levels;
    inv[c] = scale[c] > 0 ? 1 / scale[c] : 0;
  }
  const symbols = new Uint8Array(n);
  // The float32-rounded offset and scale can push the extremes half a step out of range,
  // hence the clamps. (Multiplying by the inverse scale may round a value at exactly half a
  // step the other way than dividing would; the symbols define the tensor either way.)
  if (C === 1) {
    const o = offset[0];
    const k = inv[0];
    for (let i = 0; i < n; i++) {
      const q = Math.round((values[i] - o) * k);
      symbols[i] = q < 0 ? 0 : q > levels ? levels : q;
    }
  } else {
    for (let i = 0, c = 0; i < n; i++) {
      const q = Math.round((values[i] - offset[c]) * inv[c]);
      symbols[i] = q < 0 ? 0 : q > levels ? levels : q;
      if (++c === C) c = 0;
    }
  }
  return { shape: [...shape], bits, granularity, scale, offset, symbols };
}

/** Maps symbols back to values: offset + q * scale, rounded to float32. */
export function dequantize(q: Quantized): Float32Array {
  const n = q.symbols.length;
  const C = q.scale.length;
  const out = new Float32Array(n);
  const { symbols, offset, scale } = q;
  if (C === 1) {
    const o = offset[0];
    const s = scale[0];
    for (let i = 0; i < n; i++) out[i] = o + symbols[i] * s;
  } else {
    for (let i = 0, c = 0; i < n; i++) {
      out[i] = offset[c] + symbols[i] * scale[c];
      if (++c === C) c = 0;
    }
  }
  return out;
}

/** Writes the tensor shape: rank, then each dimension as a varint. */
export function writeShape(w: ByteWriter, shape: readonly number[]): void {
  w.u8(shape.length);
  for (const d of shape) w.varint(d);
}

/** Reads a shape written by writeShape. */
export function readShape(r: ByteReader): number[] {
  const rank = r.u8();
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) shape.push(r.varint());
  return shape;
}

/**
 * Writes the quantisation header: shape, then (scale, offset) as float32 per channel or
 * once for the tensor. Bits and granularity are part of the codec's configuration, which
 * sender and receiver agree on beforehand, so they are not repeated per tensor.
 */
export function writeQuantHeader(w: ByteWriter, q: Quantized): void {
  writeShape(w, q.shape);
  for (let c = 0; c < q.scale.length; c++) w.f32(q.scale[c]).f32(q.offset[c]);
}

/** Reads a header written by writeQuantHeader; symbols are left empty for the caller. */
export function readQuantHeader(r: ByteReader, bits: number, granularity: Granularity): Quantized {
  const shape = readShape(r);
  const C = granularity === 'channel' ? channelsOf(shape) : 1;
  const scale = new Float32Array(C);
  const offset = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    scale[c] = r.f32();
    offset[c] = r.f32();
  }
  return { shape, bits, granularity, scale, offset, symbols: new Uint8Array(sizeOf(shape)) };
}

/** Packs symbols of `bits` bits each, LSB first, into ceil(n * bits / 8) bytes. */
export function packBits(symbols: Uint8Array, bits: number): Uint8Array {
  if (bits === 8) return symbols.slice();
  const out = new Uint8Array(Math.ceil((symbols.length * bits) / 8));
  let acc = 0;
  let nacc = 0;
  let o = 0;
  for (let i = 0; i < symbols.length; i++) {
    acc |= symbols[i] << nacc;
    nacc += bits;
    if (nacc >= 8) {
      out[o++] = acc & 0xff;
      acc >>>= 8;
      nacc -= 8;
    }
  }
  if (nacc > 0) out[o] = acc & 0xff;
  return out;
}

/** Unpacks `n` symbols of `bits` bits from `bytes` (as written by packBits) into `out`. */
export function unpackBits(bytes: Uint8Array, bits: number, n: number, out: Uint8Array): void {
  const need = Math.ceil((n * bits) / 8);
  if (bytes.length < need) throw new Error(`unpack: need ${need} bytes, have ${bytes.length}`);
  if (bits === 8) {
    out.set(bytes.subarray(0, n));
    return;
  }
  const mask = (1 << bits) - 1;
  let acc = 0;
  let nacc = 0;
  let p = 0;
  for (let i = 0; i < n; i++) {
    if (nacc < bits) {
      acc |= bytes[p++] << nacc;
      nacc += 8;
    }
    out[i] = acc & mask;
    acc >>>= bits;
    nacc -= bits;
  }
}
