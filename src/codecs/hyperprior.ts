/**
 * The hyperprior codec (Ballé et al. 2018 scale hyperprior; Minnen et al. 2018 mean-scale):
 * the latent y of a model's bottleneck is coded under a discretised Gaussian whose scale (and
 * mean) come from side information z = h_a(y), itself coded under a factorized prior.
 *
 *   encode: z = h_a(y); ẑ = round(z - m_z) + m_z; (μ, σ) = h_s(ẑ); symbols round(y - μ)
 *   stream: one rANS stream, the z symbols first (per-channel static tables), then the y
 *           symbols, each with the Gaussian table of its quantised scale
 *   decode: the z symbols, then (μ, σ) = h_s(ẑ) recomputed from them, as a real receiver does,
 *           then the y symbols; ŷ = symbol + μ
 *
 * h_a and h_s (small convolutions, ReLU, |.|) run here, in float64 JavaScript, from the weights
 * in the model's meta.json: the same code on the same numbers gives the same scales in the
 * process that encodes and the one that decodes, so the table each symbol uses, and the
 * decoded latent, are identical bit for bit. Scales are quantised as CompressAI does: each σ
 * uses the first entry of the scale table that is ≥ σ (the last entry above it). The side
 * information's bits are part of the payload and of the estimate.
 */
import { RansDecoder, RANS_PRECISION, RansTable, ransCostBitsIndexed, ransEncodeIndexed } from './rans';

/** One layer of h_a or h_s as meta.json stores it (PyTorch weight layouts). */
export interface HyperLayer {
  op: 'abs' | 'relu' | 'conv' | 'convT';
  inChannels?: number;
  outChannels?: number;
  kernel?: number;
  stride?: number;
  pad?: number;
  /** conv: [out][in][kh][kw]; convT: [in][out][kh][kw]. */
  weight?: number[];
  bias?: number[];
}

/** meta.json's bottleneck.hyperprior (training/export_methods.py). */
export interface HyperpriorModel {
  /** The coded latent y: [H, W, C]. */
  latentShape: number[];
  means: boolean;
  scaleBound: number;
  scaleTable: number[];
  /** Smallest and largest σ h_s gives on the training set (the table must cover them). */
  scaleRange: number[];
  likelihoodBound: number;
  gaussian: { precision: number; tailMass: number; centers: number[]; cdfs: number[][] };
  z: {
    latentShape: number[];
    medians: number[];
    entropy: { precision: number; minQ: number[]; lengths: number[]; cdfs: number[][]; pmfs: number[][]; likelihoodBound: number };
  };
  analysis: HyperLayer[];
  synthesis: HyperLayer[];
}

/** A CHW float64 tensor. */
interface Chw { data: Float64Array; c: number; h: number; w: number }

/** Output rows (or columns) o in [lo, hi) whose input row o*s - p + k lies inside [0, n). */
function validRange(n: number, out: number, s: number, p: number, k: number): [number, number] {
  const lo = Math.max(0, Math.ceil((p - k) / s));
  const hi = Math.min(out, Math.floor((n - 1 + p - k) / s) + 1);
  return [lo, hi];
}

/**
 * Convolution on CHW float64. Each output starts at its bias and accumulates weight x input
 * in a fixed order (input channel, kernel row, kernel column), identical in every process.
 */
/** A (transposed) convolution's geometry, weights and zeroed output on input x. */
function convSetup(x: Chw, l: HyperLayer, transposed: boolean) {
  const k = l.kernel!, s = l.stride!, p = l.pad!, cin = l.inChannels!, cout = l.outChannels!;
  if (x.c !== cin) throw new Error(`hyperprior: ${transposed ? 'convT' : 'conv'} expects ${cin} channels, got ${x.c}`);
  const H = x.h, W = x.w;
  const ho = transposed ? (H - 1) * s - 2 * p + k : Math.floor((H + 2 * p - k) / s) + 1;
  const wo = transposed ? (W - 1) * s - 2 * p + k : Math.floor((W + 2 * p - k) / s) + 1;
  return { k, s, p, cin, cout, H, W, ho, wo, out: new Float64Array(cout * ho * wo), wt: l.weight!, b: l.bias!, xd: x.data };
}

function convLayer(x: Chw, l: HyperLayer): Chw {
  const { k, s, p, cin, cout, H, W, ho, wo, out, wt, b, xd } = convSetup(x, l, false);
  const rows = Array.from({ length: k }, (_, ky) => validRange(H, ho, s, p, ky));
  const cols = Array.from({ length: k }, (_, kx) => validRange(W, wo, s, p, kx));
  for (let o = 0; o < cout; o++) {
    const ob = o * ho * wo;
    out.fill(b[o], ob, ob + ho * wo);
    for (let i = 0; i < cin; i++) {
      const ib = i * H * W;
      for (let ky = 0; ky < k; ky++) {
        const [y0, y1] = rows[ky];
        for (let kx = 0; kx < k; kx++) {
          const [x0, x1] = cols[kx];
          const w = wt[((o * cin + i) * k + ky) * k + kx];
          for (let oy = y0; oy < y1; oy++) {
            const orow = ob + oy * wo;
            const irow = ib + (oy * s - p + ky) * W - p + kx;
            for (let ox = x0; ox < x1; ox++) out[orow + ox] += w * xd[irow + ox * s];
          }
        }
      }
    }
  }
  return { data: out, c: cout, h: ho, w: wo };
}

/** Transposed convolution on CHW float64 (fixed accumulation order, as convLayer). */
function convTLayer(x: Chw, l: HyperLayer): Chw {
  const { k, s, p, cin, cout, H, W, ho, wo, out, wt, b, xd } = convSetup(x, l, true);
  for (let o = 0; o < cout; o++) {
    const ob = o * ho * wo;
    out.fill(b[o], ob, ob + ho * wo);
    for (let i = 0; i < cin; i++) {
      const ib = i * H * W;
      for (let ky = 0; ky < k; ky++) {
        for (let kx = 0; kx < k; kx++) {
          const w = wt[((i * cout + o) * k + ky) * k + kx];
          for (let iy = 0; iy < H; iy++) {
            const oy = iy * s - p + ky;
            if (oy < 0 || oy >= ho) continue;
            for (let ix = 0; ix < W; ix++) {
              const ox = ix * s - p + kx;
              if (ox < 0 || ox >= wo) continue;
              out[ob + oy * wo + ox] += w * xd[ib + iy * W + ix];
            }
          }
        }
      }
    }
  }
  return { data: out, c: cout, h: ho, w: wo };
}

/** Runs a layer list (h_a or h_s) on a CHW tensor. */
export function runHyperLayers(x: Chw, layers: readonly HyperLayer[]): Chw {
  let t = x;
  for (const l of layers) {
    if (l.op === 'abs') t = { ...t, data: t.data.map(Math.abs) };
    else if (l.op === 'relu') t = { ...t, data: t.data.map((v) => (v > 0 ? v : 0)) };
    else if (l.op === 'conv') t = convLayer(t, l);
    else t = convTLayer(t, l);
  }
  return t;
}

/** Multiply-accumulates of a layer list on an input of h x w (convolutions only). */
export function hyperLayerMacs(layers: readonly HyperLayer[], h: number, w: number): number {
  let macs = 0;
  for (const l of layers) {
    if (l.op === 'conv') {
      h = Math.floor((h + 2 * l.pad! - l.kernel!) / l.stride!) + 1;
      w = Math.floor((w + 2 * l.pad! - l.kernel!) / l.stride!) + 1;
      macs += h * w * l.outChannels! * l.inChannels! * l.kernel! * l.kernel!;
    } else if (l.op === 'convT') {
      macs += h * w * l.inChannels! * l.outChannels! * l.kernel! * l.kernel!;
      h = (h - 1) * l.stride! - 2 * l.pad! + l.kernel!;
      w = (w - 1) * l.stride! - 2 * l.pad! + l.kernel!;
    }
  }
  return macs;
}

/** Weights and biases of a layer list. */
export function hyperLayerParams(layers: readonly HyperLayer[]): number {
  return layers.reduce((s, l) => s + (l.weight?.length ?? 0) + (l.bias?.length ?? 0), 0);
}

function softplus(x: number): number {
  return x > 30 ? x : Math.log1p(Math.exp(x));
}

/**
 * erfc(x), Numerical Recipes' Chebyshev-fitted formula (fractional error < 1.2e-7): enough
 * for rate estimates; coding uses the integer tables, never this.
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? r : 2 - r;
}

/** Probability of the unit bin around integer offset v under N(0, σ²). */
function gaussianBin(v: number, sigma: number): number {
  const a = Math.abs(v);
  const upper = 0.5 * erfc(-(0.5 - a) / sigma / Math.SQRT2);
  const lower = 0.5 * erfc(-(-0.5 - a) / sigma / Math.SQRT2);
  return upper - lower;
}

/**
 * Why a hyperprior model cannot be coded with, or undefined: its tables are missing or
 * inconsistent, or its scale table does not cover the scales h_s produces. Returns the field
 * and the problem.
 */
export function hyperpriorProblem(h: HyperpriorModel): { field: string; message: string } | undefined {
  const t = h.scaleTable;
  if (!Array.isArray(t) || t.length < 2) return { field: 'scaleTable', message: 'missing (the Gaussian tables are indexed by it)' };
  for (let i = 1; i < t.length; i++) if (!(t[i] > t[i - 1])) return { field: `scaleTable[${i}]`, message: 'the scale table must increase' };
  if (t[0] > h.scaleBound * (1 + 1e-9)) {
    return { field: 'scaleTable', message: `starts at ${t[0]}, above the scale bound ${h.scaleBound}: the smallest scales are not covered` };
  }
  if (!(h.scaleRange[1] <= t[t.length - 1])) {
    return { field: 'scaleTable', message: `ends at ${t[t.length - 1]}, below the largest scale the model produces (${h.scaleRange[1]}): the table does not cover its scales` };
  }
  if (!(h.scaleRange[0] >= h.scaleBound * (1 - 1e-6))) {
    return { field: 'scaleRange', message: `starts at ${h.scaleRange[0]}, below the scale bound ${h.scaleBound}` };
  }
  const g = h.gaussian;
  if (!g || !Array.isArray(g.cdfs) || g.cdfs.length !== t.length || g.centers.length !== t.length) {
    return { field: 'gaussian', message: `needs one table (centers, cdfs) per scale of the scale table (${t.length})` };
  }
  if (g.precision !== RANS_PRECISION) return { field: 'gaussian.precision', message: `${g.precision}, the coder uses ${RANS_PRECISION}` };
  for (let k = 0; k < t.length; k++) {
    if (g.cdfs[k].length !== 2 * g.centers[k] + 3) {
      return { field: `gaussian.cdfs[${k}]`, message: `has ${g.cdfs[k].length} entries, expected 2*centers+3 = ${2 * g.centers[k] + 3} (the CDF of symbols -c..c and the escape)` };
    }
  }
  const e = h.z?.entropy;
  const cz = h.z?.latentShape?.[2];
  if (!e || !cz || h.z.medians.length !== cz || e.cdfs.length !== cz || e.minQ.length !== cz || e.pmfs.length !== cz) {
    return { field: 'z', message: `the side information needs its factorized tables (medians, entropy) for ${cz ?? '?'} channels` };
  }
  if (e.precision !== RANS_PRECISION) return { field: 'z.entropy.precision', message: `${e.precision}, the coder uses ${RANS_PRECISION}` };
  for (let c = 0; c < cz; c++) {
    if (e.cdfs[c].length !== e.lengths[c] + 1) return { field: `z.entropy.cdfs[${c}]`, message: `has ${e.cdfs[c].length} entries, expected lengths+1` };
  }
  const C = h.latentShape[2];
  const out = h.synthesis[h.synthesis.length - 1]?.outChannels;
  if (out !== (h.means ? 2 * C : C)) return { field: 'synthesis', message: `ends with ${out} channels, expected ${h.means ? 2 * C : C} (${h.means ? 'means and scales' : 'scales'} of ${C} channels)` };
  if (h.analysis.find((l) => l.op === 'conv' || l.op === 'convT')?.inChannels !== C) return { field: 'analysis', message: `must take the ${C}-channel latent` };
  return undefined;
}

/** Index of the first scale-table entry >= sigma (the last entry for larger scales). */
function scaleIndex(table: Float64Array, sigma: number): number {
  let lo = 0, hi = table.length - 1;
  if (sigma > table[hi]) return hi;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (table[mid] >= sigma) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** What the coder derives from y (encoder) or from the decoded z symbols (decoder). */
interface Side { zSymbols: Int32Array; mu: Float64Array; sigma: Float64Array; contexts: Int32Array }

/** The hyperprior codec of one model. */
export class HyperpriorCoder {
  readonly table: RansTable;
  private readonly scales: Float64Array;
  private readonly zMed: Float64Array;
  private readonly zNll: Float64Array[];
  readonly H: number;
  readonly W: number;
  readonly C: number;
  readonly zCount: number;
  constructor(readonly model: HyperpriorModel) {
    const why = hyperpriorProblem(model);
    if (why) throw new Error(`hyperprior: ${why.field}: ${why.message}`);
    [this.H, this.W, this.C] = model.latentShape;
    const z = model.z;
    const cz = z.latentShape[2];
    this.zCount = z.latentShape[0] * z.latentShape[1] * cz;
    const minQ = [...z.entropy.minQ, ...model.gaussian.centers.map((c) => -c)];
    this.table = RansTable.fromCdfs(minQ, [...z.entropy.cdfs, ...model.gaussian.cdfs], true);
    this.scales = Float64Array.from(model.scaleTable);
    this.zMed = Float64Array.from(z.medians);
    const bound = z.entropy.likelihoodBound > 0 ? z.entropy.likelihoodBound : 1e-9;
    this.zNll = z.entropy.pmfs.map((p) => Float64Array.from(p, (v) => -Math.log2(Math.max(v, bound))));
  }

  /** (μ, σ) and the table index of every latent element (NHWC order) from the z symbols. */
  private side(zSymbols: Int32Array): Side {
    const [zh, zw, cz] = this.model.z.latentShape;
    const zc = new Float64Array(this.zCount);
    for (let i = 0; i < this.zCount; i++) {
      const c = i % cz, pix = (i - c) / cz;
      zc[c * zh * zw + pix] = zSymbols[i] + this.zMed[c];
    }
    const p = runHyperLayers({ data: zc, c: cz, h: zh, w: zw }, this.model.synthesis);
    if (p.h !== this.H || p.w !== this.W) throw new Error(`hyperprior: h_s gives ${p.h}x${p.w}, the latent is ${this.H}x${this.W}`);
    const n = this.H * this.W * this.C;
    const mu = new Float64Array(n), sigma = new Float64Array(n), contexts = new Int32Array(n);
    const plane = this.H * this.W;
    const scaleOff = this.model.means ? this.C : 0;
    for (let i = 0; i < n; i++) {
      const c = i % this.C, pix = (i - c) / this.C;
      if (this.model.means) mu[i] = p.data[c * plane + pix];
      const s = Math.max(softplus(p.data[(scaleOff + c) * plane + pix]), this.model.scaleBound);
      sigma[i] = s;
      contexts[i] = cz + scaleIndex(this.scales, s);
    }
    return { zSymbols, mu, sigma, contexts };
  }

  /** The encoder's side: z symbols of y (NHWC float values), and what follows from them. */
  private analyse(values: Float32Array): Side {
    const n = this.H * this.W * this.C;
    if (values.length !== n) throw new Error(`hyperprior: ${values.length} values, the latent has ${n}`);
    const plane = this.H * this.W;
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const c = i % this.C, pix = (i - c) / this.C;
      y[c * plane + pix] = values[i];
    }
    const z = runHyperLayers({ data: y, c: this.C, h: this.H, w: this.W }, this.model.analysis);
    const [zh, zw, cz] = this.model.z.latentShape;
    if (z.h !== zh || z.w !== zw || z.c !== cz) throw new Error(`hyperprior: h_a gives ${z.h}x${z.w}x${z.c}, meta says ${zh}x${zw}x${cz}`);
    const zs = new Int32Array(this.zCount);
    for (let i = 0; i < this.zCount; i++) {
      const c = i % cz, pix = (i - c) / cz;
      zs[i] = Math.round(z.data[c * zh * zw + pix] - this.zMed[c]);
    }
    return this.side(zs);
  }

  private ySymbols(values: Float32Array, s: Side): Int32Array {
    return Int32Array.from(values, (v, i) => Math.round(v - s.mu[i]));
  }

  private zContexts(): Int32Array {
    const cz = this.model.z.latentShape[2];
    return Int32Array.from({ length: this.zCount }, (_, i) => i % cz);
  }

  encode(values: Float32Array): Uint8Array {
    const s = this.analyse(values);
    const ys = this.ySymbols(values, s);
    const symbols = new Int32Array(this.zCount + ys.length);
    symbols.set(s.zSymbols);
    symbols.set(ys, this.zCount);
    const contexts = new Int32Array(symbols.length);
    contexts.set(this.zContexts());
    contexts.set(s.contexts, this.zCount);
    return ransEncodeIndexed(symbols, contexts, this.table);
  }

  /** ŷ = symbol + μ as float32, from the symbols and the side information. */
  private latent(ys: Int32Array, s: Side): Float32Array {
    return Float32Array.from(ys, (q, i) => q + s.mu[i]);
  }

  decode(bytes: Uint8Array): Float32Array {
    const dec = new RansDecoder(bytes, 0);
    const zs = new Int32Array(this.zCount);
    dec.decodeIndexed(this.table, this.zContexts(), zs);
    const s = this.side(zs);
    const ys = new Int32Array(this.H * this.W * this.C);
    dec.decodeIndexed(this.table, s.contexts, ys);
    const end = dec.finish();
    if (end !== bytes.length) throw new Error(`hyperprior: ${bytes.length - end} trailing byte(s)`);
    return this.latent(ys, s);
  }

  /** What decode(encode(values)) returns. */
  reference(values: Float32Array): Float32Array {
    const s = this.analyse(values);
    return this.latent(this.ySymbols(values, s), s);
  }

  /** The symbols sent: z's then y's (tests, golden checks). */
  symbols(values: Float32Array): { z: Int32Array; y: Int32Array } {
    const s = this.analyse(values);
    return { z: s.zSymbols, y: this.ySymbols(values, s) };
  }

  /** Sum of -log2 p under the coder's 16-bit tables (escapes' bypass bits included). */
  tableBits(values: Float32Array): number {
    const s = this.analyse(values);
    const ys = this.ySymbols(values, s);
    return ransCostBitsIndexed(s.zSymbols, this.zContexts(), this.table) + ransCostBitsIndexed(ys, s.contexts, this.table);
  }

  /** Sum of -log2 of the model likelihoods: z under its factorized prior, y under N(μ, σ) with the unquantised σ. */
  estimatedBits(values: Float32Array): number {
    const s = this.analyse(values);
    const ys = this.ySymbols(values, s);
    const e = this.model.z.entropy;
    const cz = this.model.z.latentShape[2];
    let bits = 0;
    for (let i = 0; i < this.zCount; i++) {
      const c = i % cz;
      const idx = s.zSymbols[i] - e.minQ[c];
      const last = e.lengths[c] - 1;
      bits += this.zNll[c][idx >= 0 && idx < last ? idx : last];
    }
    const bound = this.model.likelihoodBound > 0 ? this.model.likelihoodBound : 1e-9;
    for (let i = 0; i < ys.length; i++) bits -= Math.log2(Math.max(gaussianBin(ys[i], s.sigma[i]), bound));
    return bits;
  }
}
