/**
 * Range asymmetric numeral systems (rANS) entropy coder, written for splitsim.
 *
 * - 32-bit state kept in [2^23, 2^31), byte-wise renormalisation, 16-bit probabilities.
 *   Keeping the state below 2^31 lets V8 hold it in an int32 register throughout.
 * - Symbols are coded with a per-context table (context = index mod `contexts`, which is the
 *   channel of an NHWC tensor). A table may end with an escape entry: a symbol outside the
 *   table's range is coded as the escape followed by an order-0 Exp-Golomb code of how far
 *   it lies outside, the bits coded in the same rANS stream at probability 1/2 each (bypass).
 *   Bypass bits cost exactly one bit each, so no separate stream or padding is needed.
 * - The encoder walks the symbols backwards and writes bytes backwards into one buffer; the
 *   decoder reads forwards. The stream is the 4-byte final state followed by the renormalised
 *   bytes; the decoder ends in the initial state, so it consumes exactly the bytes written.
 */

/** Probability precision in bits: every table's frequencies sum to 2^16. */
export const RANS_PRECISION = 16;
const M = 1 << RANS_PRECISION;
const MASK = M - 1;
/**
 * The decoder's coarse lookup has 2^8..2^12 buckets per context: as many as keep all
 * contexts' lookups within ~32 KB (L1-sized), so that few slots share a bucket.
 */
function coarseShiftFor(contexts: number): number {
  const buckets = Math.max(1, Math.floor(16384 / contexts));
  return RANS_PRECISION - Math.min(12, Math.max(8, Math.floor(Math.log2(buckets))));
}
/** Lower bound of the normalised state interval. */
const RANS_L = 1 << 23;
/** Renormalise before coding frequency f while x >= f << (31 - 16), so x stays below 2^31. */
const XMAX_SHIFT = 31 - RANS_PRECISION;

/**
 * Frequency tables for one or more contexts, with the slot -> symbol lookup tables the
 * decoder needs precomputed once.
 */
export class RansTable {
  /** Number of contexts; symbol i uses context i % contexts. */
  readonly contexts: number;
  /** Entries per context in the flat arrays (the longest table). */
  readonly stride: number;
  /** Smallest in-range symbol per context. */
  readonly minSym: Int32Array;
  /** Number of in-range symbols per context (excluding the escape entry). */
  readonly inRange: Int32Array;
  /** Index of the escape entry per context, or -1 when the context has none. */
  readonly escIndex: Int32Array;
  /** Frequency of entry k of context c at c*stride + k (0 = symbol never coded). */
  readonly freq: Uint32Array;
  /** Cumulative frequency (start) of each entry. */
  readonly start: Uint32Array;
  /**
   * Cumulative frequencies with one extra entry per context (at c*(stride+1) + k), padded
   * with 2^16, so the decoder's search can test cum[k+1] <= slot without a bound check.
   */
  readonly cum: Uint32Array;
  /**
   * Slot bucket (slot >> coarseShift) -> first entry overlapping it, per context at
   * c*2^(16-coarseShift) + bucket. The decoder starts there and steps forward; a full
   * 2^16-entry table per context is faster only while all contexts' tables fit in cache,
   * which breaks down at ~16 channels.
   */
  readonly coarse: Uint16Array;
  readonly coarseShift: number;
  private bitsTable: Float64Array;
  private bitsValid = false;

  /**
   * Builds tables from per-context frequency lists. `freqs[c][k]` is the frequency of
   * symbol minSym[c] + k; when `withEscape[c]` the last entry is the escape instead.
   * Each list must sum to exactly 2^16.
   */
  constructor(minSym: ArrayLike<number>, freqs: ArrayLike<number>[], withEscape: boolean | boolean[]) {
    const C = freqs.length;
    if (C === 0 || minSym.length !== C) throw new Error('RansTable: need one minSym per context');
    this.contexts = C;
    let stride = 1;
    for (const f of freqs) stride = Math.max(stride, f.length);
    if (stride > M) throw new Error('RansTable: more entries than probability slots');
    this.stride = stride;
    this.minSym = new Int32Array(C);
    this.inRange = new Int32Array(C);
    this.escIndex = new Int32Array(C);
    this.freq = new Uint32Array(C * stride);
    this.start = new Uint32Array(C * stride);
    this.bitsTable = new Float64Array(C * stride);
    this.cum = new Uint32Array(C * (stride + 1));
    this.coarseShift = coarseShiftFor(C);
    this.coarse = new Uint16Array(C << (RANS_PRECISION - this.coarseShift));
    this.reset(minSym, freqs, withEscape);
  }

  /**
   * Refills the table in place with new frequencies (same number of contexts, no longer
   * than `stride`). Per-tensor models reuse one table this way: allocating the typed arrays
   * costs more than filling them for tensors of a few thousand symbols.
   */
  reset(minSym: ArrayLike<number>, freqs: ArrayLike<number>[], withEscape: boolean | boolean[]): this {
    const C = this.contexts;
    const stride = this.stride;
    if (freqs.length !== C || minSym.length !== C) throw new Error(`RansTable: expected ${C} context(s)`);
    const shift = this.coarseShift;
    const buckets = 1 << (RANS_PRECISION - shift);
    const { freq, start, cum: cumArr, coarse } = this;
    this.bitsValid = false;
    for (let c = 0; c < C; c++) {
      const f = freqs[c];
      const esc = Array.isArray(withEscape) ? withEscape[c] : withEscape;
      if (f.length === 0 || f.length > stride) throw new Error(`RansTable: context ${c} has ${f.length} entries (1..${stride} allowed)`);
      this.minSym[c] = minSym[c];
      this.inRange[c] = esc ? f.length - 1 : f.length;
      this.escIndex[c] = esc ? f.length - 1 : -1;
      const base = c * stride;
      const cbase = c * (stride + 1);
      let cum = 0;
      for (let k = 0; k < f.length; k++) {
        const v = f[k];
        if (!(v >= 0 && v <= M && v === Math.floor(v))) throw new Error(`RansTable: context ${c} entry ${k}: bad frequency ${v}`);
        freq[base + k] = v;
        start[base + k] = cum;
        cumArr[cbase + k] = cum;
        if (v > 0 && cum + v <= M) {
          // Buckets whose first slot falls in [cum, cum+v) start their search at entry k.
          const b0 = (cum + (1 << shift) - 1) >>> shift;
          const b1 = (cum + v - 1) >>> shift;
          for (let b = b0; b <= b1; b++) coarse[c * buckets + b] = k;
        }
        cum += v;
      }
      if (cum !== M) throw new Error(`RansTable: context ${c} frequencies sum to ${cum}, expected ${M}`);
      if (esc && f[f.length - 1] === 0) throw new Error(`RansTable: context ${c} escape has zero frequency`);
      for (let k = f.length; k < stride; k++) {
        freq[base + k] = 0;
        start[base + k] = M;
      }
      cumArr.fill(M, cbase + f.length, cbase + stride + 1);
    }
    return this;
  }

  /**
   * -log2(freq / 2^16) per entry (Infinity for zero frequencies), for cost estimates;
   * computed on first use, since per-tensor tables are mostly only coded with.
   */
  get bits(): Float64Array {
    if (!this.bitsValid) {
      const f = this.freq;
      for (let j = 0; j < f.length; j++) this.bitsTable[j] = f[j] > 0 ? RANS_PRECISION - Math.log2(f[j]) : Infinity;
      this.bitsValid = true;
    }
    return this.bitsTable;
  }

  /** Builds a single-context table from CDF values (length n+1, cdf[0]=0, cdf[n]=2^16). */
  static fromCdfs(minSym: ArrayLike<number>, cdfs: ArrayLike<number>[], withEscape: boolean): RansTable {
    const freqs = Array.from(cdfs, (cdf, c) => {
      if (cdf[0] !== 0 || cdf[cdf.length - 1] !== M) {
        throw new Error(`RansTable: cdf of context ${c} must run from 0 to ${M}`);
      }
      const f = new Uint32Array(cdf.length - 1);
      for (let k = 0; k < f.length; k++) f[k] = cdf[k + 1] - cdf[k];
      return f;
    });
    return new RansTable(minSym, freqs, withEscape);
  }
}

/** Scratch space reused between encode calls so that encoding allocates only its result. */
let scratch = new Uint8Array(1 << 16);
let symScratch = new Int32Array(0);

/** How far a symbol outside [lo, hi] lies beyond the range, folded to a non-negative integer. */
function overflowCode(s: number, lo: number, hi: number): number {
  return s > hi ? 2 * (s - hi - 1) : 2 * (lo - s - 1) + 1;
}

/** Bits the escape's bypass code takes for overflow code u (order-0 Exp-Golomb). */
function bypassBits(u: number): number {
  const len = Math.floor(Math.log2(u + 1));
  return 2 * len + 1;
}

/**
 * Ideal cost in bits of coding `symbols` with `table`: sum of -log2 p over the table
 * probabilities, plus the bypass bits of escapes. Infinity if a symbol cannot be coded.
 */
export function ransCostBits(symbols: ArrayLike<number>, table: RansTable): number {
  const { contexts: C, stride, minSym, inRange, escIndex, bits } = table;
  let total = 0;
  let c = 0;
  for (let i = 0; i < symbols.length; i++) {
    const s = symbols[i];
    const idx = s - minSym[c];
    if (idx >= 0 && idx < inRange[c]) {
      total += bits[c * stride + idx];
    } else if (escIndex[c] >= 0) {
      total += bits[c * stride + escIndex[c]] + bypassBits(overflowCode(s, minSym[c], minSym[c] + inRange[c] - 1));
    } else {
      return Infinity;
    }
    if (++c === C) c = 0;
  }
  return total;
}

/** Where the escape coders leave their stream position (and the decoded value). */
let escValue = 0;
let escPos = 0;

/**
 * Pushes the bypass code of an escaped symbol s (outside [lo, hi]) onto the stream growing
 * down from buf[pos]; returns the new state and leaves the new position in escPos. Bits go
 * in reverse of decoding order: the suffix chunks (the decoder reads chunks of 16, 16, ...,
 * r bits high-first, so the low r-bit chunk goes first), then the terminating one, then the
 * unary zeros.
 */
function encodeEscape(buf: Uint8Array, pos: number, x: number, s: number, lo: number, hi: number): number {
  const u = overflowCode(s, lo, hi) + 1;
  const len = Math.floor(Math.log2(u));
  let suffix = u - 2 ** len;
  let nb = len % 16 === 0 ? (len === 0 ? 0 : 16) : len % 16;
  for (let rem = len; rem > 0; rem -= nb, nb = 16) {
    const low = suffix % (1 << nb);
    suffix = Math.floor(suffix / (1 << nb));
    const f = 1 << (16 - nb);
    while (x >>> XMAX_SHIFT >= f) { buf[--pos] = x & 0xff; x >>>= 8; }
    const q = (x / f) | 0;
    x = (q << RANS_PRECISION) + (x - Math.imul(q, f)) + low * f;
  }
  for (let b = 0; b <= len; b++) {
    // bit value 1 for the terminating bit (b === 0 in this reversed walk), else 0
    const bit = b === 0 ? 1 : 0;
    const f = 1 << 15;
    while (x >>> XMAX_SHIFT >= f) { buf[--pos] = x & 0xff; x >>>= 8; }
    x = ((x >>> 15) << RANS_PRECISION) + (x & (f - 1)) + bit * f;
  }
  escPos = pos;
  return x;
}

/**
 * Encodes `symbols` (context of symbol i = i % table.contexts) and returns the stream.
 * Throws if a symbol is outside a context without escape or has zero frequency.
 */
export function ransEncode(input: ArrayLike<number>, table: RansTable): Uint8Array {
  // One element type in the hot loop keeps V8's loads monomorphic; the copy costs ~1 ns/symbol.
  const n = input.length;
  let symbols: Int32Array;
  if (input instanceof Int32Array) symbols = input;
  else {
    if (symScratch.length < n) symScratch = new Int32Array(n);
    symbols = symScratch;
    for (let i = 0; i < n; i++) symbols[i] = input[i];
  }
  const { contexts: C, stride, minSym, inRange, escIndex, freq, start } = table;
  // Each ordinary symbol emits at most 2 bytes; escapes may need more and grow the buffer.
  if (scratch.length < 2 * n + 256) scratch = new Uint8Array(2 * n + 256);
  let buf = scratch;
  let pos = buf.length;
  let x = RANS_L;
  let c = (n - 1) % C;
  let base = c * stride;
  for (let i = n - 1; i >= 0; i--) {
    // One symbol emits at most 2 bytes, an escape with its bypass code at most ~45, and the
    // final state 4: growing below 128 free bytes keeps every write in bounds.
    if (pos < 128) {
      const bigger = new Uint8Array(buf.length * 2);
      bigger.set(buf.subarray(pos), bigger.length - (buf.length - pos));
      pos += bigger.length - buf.length;
      buf = bigger;
      scratch = bigger;
    }
    const s = symbols[i];
    const idx = s - minSym[c];
    let k: number;
    if (idx >= 0 && idx < inRange[c]) {
      k = base + idx;
    } else {
      if (escIndex[c] < 0) {
        throw new Error(`rANS: symbol ${s} at ${i} is outside context ${c}'s table and it has no escape`);
      }
      x = encodeEscape(buf, pos, x, s, minSym[c], minSym[c] + inRange[c] - 1);
      pos = escPos;
      k = base + escIndex[c];
    }
    const f = freq[k];
    if (f === 0) throw new Error(`rANS: symbol ${s} at ${i} has zero frequency in context ${c}`);
    // x >= f * 2^15 written so that every operand stays a 32-bit integer.
    while (x >>> XMAX_SHIFT >= f) { buf[--pos] = x & 0xff; x >>>= 8; }
    const q = (x / f) | 0;
    x = (q << RANS_PRECISION) + (x - Math.imul(q, f)) + start[k];
    if (--c < 0) {
      c = C - 1;
      base = c * stride;
    } else base -= stride;
  }
  buf[--pos] = x & 0xff;
  buf[--pos] = (x >>> 8) & 0xff;
  buf[--pos] = (x >>> 16) & 0xff;
  buf[--pos] = x >>> 24;
  return buf.slice(pos);
}

/**
 * Decodes `count` symbols from `bytes` starting at `offset` into `out` (context of symbol i
 * = i % table.contexts). Returns the offset just past the stream.
 */
export function ransDecode(
  bytes: Uint8Array,
  offset: number,
  count: number,
  table: RansTable,
  out: Int32Array,
): number {
  if (out.length < count) throw new Error('rANS: output array too short');
  if (offset + 4 > bytes.length) throw new Error('rANS: truncated stream (no state)');
  const { contexts: C, stride, minSym, escIndex, freq, cum, coarse, coarseShift } = table;
  const cstride = stride + 1;
  const buckets = 1 << (RANS_PRECISION - coarseShift);
  let pos = offset;
  let x = (bytes[pos] << 24) | (bytes[pos + 1] << 16) | (bytes[pos + 2] << 8) | bytes[pos + 3];
  pos += 4;
  if (x < RANS_L) throw new Error('rANS: corrupt stream (state below range)');
  let c = 0;
  let cbase = 0; // c * cstride
  let bbase = 0; // c * buckets
  let esc = escIndex[0];
  let lo = minSym[0];
  for (let i = 0; i < count; i++) {
    const slot = x & MASK;
    let k = cbase + coarse[bbase | (slot >>> coarseShift)];
    while (cum[k + 1] <= slot) k++;
    const idx = k - cbase;
    x = freq[k - c] * (x >>> RANS_PRECISION) + slot - cum[k]; // k - c = c*stride + idx
    // A decode step leaves x >= 2^7, so at most two bytes are needed.
    if (x < RANS_L) {
      x = (x << 8) | bytes[pos++];
      if (x < RANS_L) x = (x << 8) | bytes[pos++];
    }
    if (idx === esc) {
      const r = decodeEscape(bytes, pos, x, lo, lo + esc - 1);
      out[i] = escValue;
      x = r;
      pos = escPos;
    } else {
      out[i] = lo + idx;
    }
    if (++c === C) {
      c = 0;
      cbase = 0;
      bbase = 0;
    } else {
      cbase += cstride;
      bbase += buckets;
    }
    esc = escIndex[c];
    lo = minSym[c];
  }
  // Reads past the end yield undefined (0 in the bit operations); catch them here, once.
  if (pos > bytes.length) throw new Error('rANS: truncated stream');
  return pos;
}

/** Outputs of decodeEscape besides the new state (module scope: no allocation per escape). */
/** Decodes the bypass code of an escape; sets escValue and escPos, returns the new state. */
function decodeEscape(bytes: Uint8Array, pos: number, x: number, lo: number, hi: number): number {
  // Unary zeros ended by a one, then `len` suffix bits in chunks of <= 16, high first.
  let len = 0;
  for (;;) {
    const bit = (x >>> 15) & 1;
    x = (1 << 15) * (x >>> RANS_PRECISION) + (x & 0x7fff);
    if (x < RANS_L) x = (x << 8) | bytes[pos++];
    if (bit === 1) break;
    if (++len > 40) throw new Error('rANS: corrupt escape code');
  }
  let u = 1;
  for (let rem = len; rem > 0; ) {
    const nb = rem > 16 ? 16 : rem;
    const sl = x & MASK;
    const f = 1 << (16 - nb);
    const v = sl >>> (16 - nb);
    x = f * (x >>> RANS_PRECISION) + (sl & (f - 1));
    if (x < RANS_L) {
      x = (x << 8) | bytes[pos++];
      if (x < RANS_L) x = (x << 8) | bytes[pos++];
    }
    u = u * (1 << nb) + v;
    rem -= nb;
  }
  const code = u - 1;
  escValue = code % 2 === 0 ? hi + 1 + code / 2 : lo - 1 - (code - 1) / 2;
  escPos = pos;
  if (pos > bytes.length) throw new Error('rANS: truncated stream');
  return x;
}

/**
 * Encodes `symbols` where symbol i uses context `contexts[i]` of `table` (rather than
 * i % table.contexts): for models whose table depends on side information, e.g. a Gaussian
 * conditional whose table is chosen by each element's quantised scale. Same stream format as
 * ransEncode; decode it with RansDecoder.decodeIndexed in the same order and contexts.
 */
export function ransEncodeIndexed(input: ArrayLike<number>, contexts: ArrayLike<number>, table: RansTable): Uint8Array {
  const n = input.length;
  if (contexts.length !== n) throw new Error(`rANS: ${contexts.length} contexts for ${n} symbols`);
  const { stride, minSym, inRange, escIndex, freq, start } = table;
  if (scratch.length < 2 * n + 256) scratch = new Uint8Array(2 * n + 256);
  let buf = scratch;
  let pos = buf.length;
  let x = RANS_L;
  for (let i = n - 1; i >= 0; i--) {
    if (pos < 128) {
      const bigger = new Uint8Array(buf.length * 2);
      bigger.set(buf.subarray(pos), bigger.length - (buf.length - pos));
      pos += bigger.length - buf.length;
      buf = bigger;
      scratch = bigger;
    }
    const c = contexts[i];
    if (!(c >= 0 && c < table.contexts)) throw new Error(`rANS: context ${c} of symbol ${i} is not one of the table's ${table.contexts}`);
    const base = c * stride;
    const s = input[i];
    const idx = s - minSym[c];
    let k: number;
    if (idx >= 0 && idx < inRange[c]) {
      k = base + idx;
    } else {
      if (escIndex[c] < 0) throw new Error(`rANS: symbol ${s} at ${i} is outside context ${c}'s table and it has no escape`);
      x = encodeEscape(buf, pos, x, s, minSym[c], minSym[c] + inRange[c] - 1);
      pos = escPos;
      k = base + escIndex[c];
    }
    const f = freq[k];
    if (f === 0) throw new Error(`rANS: symbol ${s} at ${i} has zero frequency in context ${c}`);
    while (x >>> XMAX_SHIFT >= f) { buf[--pos] = x & 0xff; x >>>= 8; }
    const q = (x / f) | 0;
    x = (q << RANS_PRECISION) + (x - Math.imul(q, f)) + start[k];
  }
  buf[--pos] = x & 0xff;
  buf[--pos] = (x >>> 8) & 0xff;
  buf[--pos] = (x >>> 16) & 0xff;
  buf[--pos] = x >>> 24;
  return buf.slice(pos);
}

/** Ideal cost in bits of ransEncodeIndexed(symbols, contexts, table) (bypass bits included). */
export function ransCostBitsIndexed(symbols: ArrayLike<number>, contexts: ArrayLike<number>, table: RansTable): number {
  const { stride, minSym, inRange, escIndex, bits } = table;
  let total = 0;
  for (let i = 0; i < symbols.length; i++) {
    const c = contexts[i];
    const idx = symbols[i] - minSym[c];
    if (idx >= 0 && idx < inRange[c]) total += bits[c * stride + idx];
    else if (escIndex[c] >= 0) total += bits[c * stride + escIndex[c]] + bypassBits(overflowCode(symbols[i], minSym[c], minSym[c] + inRange[c] - 1));
    else return Infinity;
  }
  return total;
}

/**
 * Decodes a rANS stream in pieces, each with its own per-symbol contexts, so that a receiver
 * can decode side information first and derive the contexts of what follows from it.
 */
export class RansDecoder {
  private x: number;
  private pos: number;
  constructor(private readonly bytes: Uint8Array, offset = 0) {
    if (offset + 4 > bytes.length) throw new Error('rANS: truncated stream (no state)');
    this.x = ((bytes[offset] << 24) | (bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) | bytes[offset + 3]) >>> 0;
    this.pos = offset + 4;
    if (this.x < RANS_L || this.x >= 2 ** 31) throw new Error('rANS: corrupt stream (state out of range)');
  }

  /** Decodes contexts.length symbols into out, symbol i with context contexts[i]. */
  decodeIndexed(table: RansTable, contexts: ArrayLike<number>, out: Int32Array): void {
    const n = contexts.length;
    if (out.length < n) throw new Error('rANS: output array too short');
    const { stride, minSym, escIndex, freq, cum, coarse, coarseShift } = table;
    const cstride = stride + 1;
    const buckets = 1 << (RANS_PRECISION - coarseShift);
    const bytes = this.bytes;
    let x = this.x;
    let pos = this.pos;
    for (let i = 0; i < n; i++) {
      const c = contexts[i];
      if (!(c >= 0 && c < table.contexts)) throw new Error(`rANS: context ${c} of symbol ${i} is not one of the table's ${table.contexts}`);
      const cbase = c * cstride;
      const slot = x & MASK;
      let k = cbase + coarse[c * buckets + (slot >>> coarseShift)];
      while (cum[k + 1] <= slot) k++;
      const idx = k - cbase;
      x = freq[c * stride + idx] * (x >>> RANS_PRECISION) + slot - cum[k];
      if (x < RANS_L) {
        x = (x << 8) | bytes[pos++];
        if (x < RANS_L) x = (x << 8) | bytes[pos++];
      }
      if (idx === escIndex[c]) {
        x = decodeEscape(bytes, pos, x, minSym[c], minSym[c] + idx - 1);
        out[i] = escValue;
        pos = escPos;
      } else {
        out[i] = minSym[c] + idx;
      }
    }
    if (pos > bytes.length) throw new Error('rANS: truncated stream');
    this.x = x;
    this.pos = pos;
  }

  /** Offset just past the stream; throws unless the decoder is back in the encoder's initial state. */
  finish(): number {
    if (this.x !== RANS_L) throw new Error('rANS: corrupt stream (final state differs from the initial one)');
    return this.pos;
  }
}
