/**
 * Per-tensor histogram model for rANS, sent as side information.
 *
 * The encoder counts the symbols of one tensor and normalises the counts to a coarse
 * precision of S bits (every symbol that occurs keeps at least one count, absent symbols get
 * zero). Both sides scale those frequencies by 2^(16-S) to obtain the exact 16-bit table,
 * so only the coarse frequencies travel. They are written as order-k Exp-Golomb codes over
 * the occupied range [lo, hi], the last one implied by the total. S and k are chosen per
 * tensor to minimise side bits plus coded bits, which matters for small tensors where a
 * 256-entry table at full precision would cost more than the data.
 */
import { BitReader, BitWriter, expGolombBits } from './bitio';
import { RANS_PRECISION, RansTable } from './rans';

/** Bits needed to write a symbol of an alphabet of the given size. */
function symbolBits(alphabet: number): number {
  return Math.max(1, Math.ceil(Math.log2(alphabet)));
}

/** Indices of the non-zero counts, most frequent first (ties by index). */
function byFrequency(counts: ArrayLike<number>): number[] {
  const order: number[] = [];
  for (let i = 0; i < counts.length; i++) if (counts[i] > 0) order.push(i);
  return order.sort((a, b) => counts[b] - counts[a] || a - b);
}

/**
 * Normalises counts to frequencies summing to 2^s, keeping every non-zero count >= 1.
 * Returns undefined when 2^s is smaller than the number of distinct symbols.
 */
export function normaliseCounts(counts: ArrayLike<number>, s: number, order = byFrequency(counts)): Uint32Array | undefined {
  const target = 2 ** s;
  let total = 0;
  for (const i of order) total += counts[i];
  if (order.length === 0 || order.length > target) return undefined;
  const f = new Uint32Array(counts.length);
  let sum = 0;
  for (const i of order) {
    f[i] = Math.max(1, Math.round((counts[i] * target) / total));
    sum += f[i];
  }
  // Fix the rounding error on the symbols where a change of one count costs least,
  // i.e. the most frequent ones; removing never takes a symbol below one count.
  while (sum !== target) {
    let changed = false;
    for (const i of order) {
      if (sum === target) break;
      if (sum < target) {
        const add = Math.min(target - sum, Math.max(1, Math.floor(f[i] / 4)));
        f[i] += add;
        sum += add;
        changed = true;
      } else if (f[i] > 1) {
        const take = Math.min(sum - target, f[i] - 1, Math.max(1, Math.floor(f[i] / 4)));
        f[i] -= take;
        sum -= take;
        changed = true;
      }
    }
    if (!changed) return undefined;
  }
  return f;
}

/** A histogram model: its side information and the rANS table both sides derive from it. */
export interface HistogramModel {
  sideInfo: Uint8Array;
  table: RansTable;
  /** Side-information size in bits before byte padding. */
  sideBits: number;
  /** Sum of -log2 p of the tensor's symbols under the table (what rANS spends, ideally). */
  dataBits: number;
}

interface Choice { s: number; k: number; lo: number; hi: number; f: Uint32Array; bits: number; sideBits: number }

/** Side-information bits for frequencies f over [lo, hi] with Exp-Golomb order k. */
function sideBitsFor(f: Uint32Array, lo: number, hi: number, k: number, alphabet: number): number {
  let bits = 2 * symbolBits(alphabet) + 4 + 4;
  for (let v = lo; v < hi; v++) bits += expGolombBits(f[v], k);
  return bits;
}

/**
 * Builds the histogram model of `symbols` (values in [0, alphabet)), choosing the coarse
 * precision and code order that minimise the total size. Total size is close to convex in
 * the precision (coarser tables cost coding bits, finer ones side bits), so the search walks
 * up from the smallest feasible precision and stops once it has got worse twice.
 */
export function buildHistogramModel(symbols: ArrayLike<number>, alphabet: number, into?: RansTable): HistogramModel {
  if (alphabet < 1 || alphabet > 1 << RANS_PRECISION) throw new Error(`histogram: bad alphabet ${alphabet}`);
  const counts = new Float64Array(alphabet);
  for (let i = 0; i < symbols.length; i++) {
    const v = symbols[i];
    if (!(v >= 0 && v < alphabet)) throw new Error(`histogram: symbol ${v} outside [0, ${alphabet})`);
    counts[v]++;
  }
  if (symbols.length === 0) counts[0] = 1; // an empty tensor still needs a valid (trivial) table
  let lo = 0;
  let hi = alphabet - 1;
  while (counts[lo] === 0) lo++;
  while (counts[hi] === 0) hi--;
  const order = byFrequency(counts);
  let best: Choice | undefined;
  let worse = 0;
  for (let s = Math.max(1, Math.ceil(Math.log2(order.length))); s <= RANS_PRECISION && worse < 2; s++) {
    const f = normaliseCounts(counts, s, order);
    if (!f) continue;
    let dataBits = 0;
    let fsum = 0;
    for (const v of order) dataBits += counts[v] * (s - Math.log2(f[v]));
    for (let v = lo; v < hi; v++) fsum += f[v];
    // The best Exp-Golomb order is near log2 of the mean coded value; try around it.
    const k0 = Math.max(0, Math.floor(Math.log2(fsum / Math.max(1, hi - lo) + 1)));
    let bestHere = Infinity;
    for (let k = Math.max(0, k0 - 2); k <= Math.min(15, k0 + 1); k++) {
      const sideBits = sideBitsFor(f, lo, hi, k, alphabet);
      const bits = sideBits + dataBits;
      bestHere = Math.min(bestHere, bits);
      if (!best || bits < best.bits - 1e-9) best = { s, k, lo, hi, f, bits, sideBits };
    }
    worse = best && bestHere > best.bits + 1e-9 ? worse + 1 : 0;
  }
  if (!best) throw new Error('histogram: no valid precision');
  const w = new BitWriter();
  const sb = symbolBits(alphabet);
  w.bits(best.lo, sb);
  w.bits(best.hi - best.lo, sb);
  w.bits(best.s - 1, 4);
  w.bits(best.k, 4);
  for (let v = best.lo; v < best.hi; v++) w.expGolomb(best.f[v], best.k);
  const sideBits = w.bitLength;
  return { sideInfo: w.finish(), table: tableFrom(best.f, best.lo, best.hi, best.s, into), sideBits, dataBits: best.bits - best.sideBits };
}

function tableFrom(f: ArrayLike<number>, lo: number, hi: number, s: number, into?: RansTable): RansTable {
  const shift = 2 ** (RANS_PRECISION - s);
  const freqs = new Uint32Array(hi - lo + 1);
  for (let v = lo; v <= hi; v++) freqs[v - lo] = f[v] * shift;
  return into ? into.reset([lo], [freqs], false) : new RansTable([lo], [freqs], false);
}

/** A one-context table with room for any histogram over the alphabet, for reuse via `into`. */
export function histogramTable(alphabet: number): RansTable {
  const f = new Uint32Array(alphabet);
  f[0] = 1 << RANS_PRECISION;
  return new RansTable([0], [f], false);
}

/** Reads a histogram model written by buildHistogramModel; returns the table and the end offset. */
export function readHistogramModel(
  bytes: Uint8Array,
  offset: number,
  alphabet: number,
  into?: RansTable,
): { table: RansTable; end: number } {
  const r = new BitReader(bytes, offset);
  const sb = symbolBits(alphabet);
  const lo = r.bits(sb);
  const hi = lo + r.bits(sb);
  const s = r.bits(4) + 1;
  const k = r.bits(4);
  if (hi >= alphabet) throw new Error(`histogram: corrupt range [${lo}, ${hi}] for alphabet ${alphabet}`);
  const f = new Float64Array(alphabet);
  let sum = 0;
  for (let v = lo; v < hi; v++) {
    f[v] = r.expGolomb(k);
    sum += f[v];
  }
  f[hi] = 2 ** s - sum;
  if (f[hi] < 1) throw new Error('histogram: corrupt frequencies');
  return { table: tableFrom(f, lo, hi, s, into), end: r.byteEnd };
}
