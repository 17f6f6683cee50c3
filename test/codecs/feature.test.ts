import fc from 'fast-check';
import { CODECS, sweepSpecs } from '../../src/codecs/registry';
import {
  createFeatureCodec,
  FactorizedCodec,
  FactorizedPrior,
  FeatureCodecSpec,
} from '../../src/codecs/feature';
import { fromHalfBits, toHalfBits } from '../../src/codecs/float16';
import { buildHistogramModel, normaliseCounts, readHistogramModel } from '../../src/codecs/histogram';
import { dequantize, packBits, quantize, unpackBits } from '../../src/codecs/quantize';
import { ransCostBits, ransEncode } from '../../src/codecs/rans';

const shapeArb = fc.tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 9 }));

/** Tensors shaped like activations: ReLU zeros, heavy tails, negative values, constant channels. */
const tensorArb = shapeArb.chain(([h, w, c]) =>
  fc
    .record({
      values: fc.array(fc.float({ min: -50, max: 200, noNaN: true }), { minLength: h * w * c, maxLength: h * w * c }),
      relu: fc.boolean(),
      constantChannel: fc.integer({ min: -1, max: c - 1 }),
    })
    .map(({ values, relu, constantChannel }) => {
      const v = Float32Array.from(values, (x) => (relu ? Math.max(0, x) : x));
      if (constantChannel >= 0) for (let i = constantChannel; i < v.length; i += c) v[i] = 3.25;
      return { values: v, shape: [h, w, c] };
    }),
);

function bitsEqual(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < a.length; i++) if (ua[i] !== ub[i]) return false;
  return true;
}

/** A random factorized prior over a latent of the given shape. */
function priorArb(shape: [number, number, number]): fc.Arbitrary<FactorizedPrior> {
  const c = shape[2];
  return fc
    .array(
      fc.record({ median: fc.double({ min: -2, max: 2, noNaN: true }), minQ: fc.integer({ min: -8, max: 0 }), len: fc.integer({ min: 2, max: 20 }), spread: fc.double({ min: 0.2, max: 4, noNaN: true }) }),
      { minLength: c, maxLength: c },
    )
    .map((chs) => {
      const cdfs: number[][] = [];
      const pmfs: number[][] = [];
      for (const ch of chs) {
        const p: number[] = [];
        for (let k = 0; k < ch.len - 1; k++) p.push(Math.exp(-Math.abs(ch.minQ + k) / ch.spread));
        p.push(1e-3);
        const total = p.reduce((a, b) => a + b, 0);
        const pm = p.map((x) => x / total);
        const f = pm.map((x) => Math.max(1, Math.floor(x * (65536 - p.length))));
        f[0] += 65536 - f.reduce((a, b) => a + b, 0);
        const cdf = [0];
        for (const x of f) cdf.push(cdf[cdf.length - 1] + x);
        cdfs.push(cdf);
        pmfs.push(pm);
      }
      return {
        latentShape: [...shape],
        medians: chs.map((x) => x.median),
        precision: 16,
        minQ: chs.map((x) => x.minQ),
        lengths: chs.map((x) => x.len),
        cdfs,
        pmfs,
        likelihoodBound: 1e-9,
      };
    });
}

// Generic feature codecs with an exact reference (the tiled JPEG/WebP codecs are lossy through
// sharp and asynchronous: test/codecs/tiled.test.ts).
const naiveSplitCodecSpecs = () => CODECS.filter((e) => e.kind === 'feature' && !e.needs).flatMap((e) => sweepSpecs(e) as FeatureCodecSpec[])
  .filter((s) => !createFeatureCodec(s).asyncCoder);

describe('feature codecs', () => {
  test('every naive-split codec decodes to exactly its reference (the quantised tensor)', () => {
    const specs = naiveSplitCodecSpecs();
    fc.assert(
      fc.property(tensorArb, ({ values, shape }) => {
        for (const spec of specs) {
          const codec = createFeatureCodec(spec);
          const bytes = codec.encode(values, shape);
          const dec = codec.decode(bytes);
          expect(dec.shape).toEqual(shape);
          if (!bitsEqual(dec.values, codec.reference(values, shape))) throw new Error(`${codec.name} ${codec.params} mismatch`);
        }
      }),
      { numRuns: 60 },
    );
  });

  test('staged codecs: encode = encodePrepared(prepare), decode = finish(decodePrepared)', () => {
    fc.assert(
      fc.property(tensorArb, ({ values, shape }) => {
        for (const spec of naiveSplitCodecSpecs()) {
          const codec = createFeatureCodec(spec);
          if (!codec.staged) continue;
          const bytes = codec.encode(values, shape);
          const q = codec.staged.prepare(values, shape);
          expect(Buffer.from(codec.staged.encodePrepared(q)).equals(Buffer.from(bytes))).toBe(true);
          const back = codec.staged.decodePrepared(bytes);
          expect(codec.staged.same(back, q)).toBe(true);
          expect(bitsEqual(codec.staged.finish(back).values, codec.decode(bytes).values)).toBe(true);
        }
      }),
      { numRuns: 30 },
    );
  });

  test('the factorized codec round-trips latents (escapes included) and meets its table cost', () => {
    fc.assert(
      fc.property(
        shapeArb.chain((shape) => fc.tuple(fc.constant(shape), priorArb(shape), fc.array(fc.integer({ min: -40, max: 40 }), { minLength: shape[0] * shape[1] * shape[2], maxLength: shape[0] * shape[1] * shape[2] }))),
        ([shape, prior, ints]) => {
          const codec = createFeatureCodec({ codec: 'factorized' }, { prior }) as FactorizedCodec;
          // Latents as the LatentQuantizer emits them: integers offset by the channel median.
          const latent = Float32Array.from(ints, (q, i) => q + prior.medians[i % shape[2]]);
          const bytes = codec.encode(latent, shape);
          const dec = codec.decode(bytes);
          expect(bitsEqual(dec.values, codec.reference(latent, shape))).toBe(true);
          expect(Array.from(codec.symbols(dec.values))).toEqual(ints);
          expect(bytes.length).toBeLessThanOrEqual(codec.tableBits(latent) / 8 * 1.01 + 4);
        },
      ),
      { numRuns: 100 },
    );
  });

  test('fixedquant uses the model scale and zero point', () => {
    const fq = { latentShape: [1, 2, 2], quantBits: 8, scale: [0.5, 2], zeroPoint: [10, 0] };
    for (const entropy of ['packed', 'deflate', 'brotli', 'rans'] as const) {
      const codec = createFeatureCodec({ codec: 'fixedquant', entropy }, { fixedQuantizer: fq });
      const x = Float32Array.from([1.2, 7, -9, 1000]);
      // q = clamp(round(x/s) + z): [12, 4, 0 (clamped from -8), 255 (clamped)]
      expect(Array.from(codec.decode(codec.encode(x, [1, 2, 2])).values)).toEqual([1, 8, -5, 510]);
    }
    expect(createFeatureCodec({ codec: 'fixedquant', entropy: 'packed' }, { fixedQuantizer: fq }).encode(Float32Array.from([1.2, 7, -9, 1000]), [1, 2, 2]).length).toBe(4);
  });

  test('payload sizes: packed is header + ceil(n*bits/8); float32 is 4 bytes a value', () => {
    const shape = [4, 4, 3];
    const x = Float32Array.from({ length: 48 }, (_, i) => Math.sin(i) * 10);
    const header = 1 + 3; // rank + three 1-byte varints
    for (const bits of [2, 4, 6, 8]) {
      const t = createFeatureCodec({ codec: 'quant', bits, granularity: 'tensor', entropy: 'packed' });
      expect(t.encode(x, shape).length).toBe(header + 8 + Math.ceil((48 * bits) / 8));
      const c = createFeatureCodec({ codec: 'quant', bits, granularity: 'channel', entropy: 'packed' });
      expect(c.encode(x, shape).length).toBe(header + 3 * 8 + Math.ceil((48 * bits) / 8));
    }
    expect(createFeatureCodec({ codec: 'float32' }).encode(x, shape).length).toBe(header + 48 * 4);
    expect(createFeatureCodec({ codec: 'float16' }).encode(x, shape).length).toBe(header + 48 * 2);
  });

  test('rANS with a histogram model beats packing on peaked activations, side info included', () => {
    const shape = [14, 14, 16];
    const n = 14 * 14 * 16;
    // Mostly zeros (ReLU) with a geometric tail.
    const x = Float32Array.from({ length: n }, (_, i) => ((i * 2654435761) % 7 < 4 ? 0 : ((i * 40503) % 97) ** 2 / 400));
    const spec = (entropy: 'packed' | 'rans'): FeatureCodecSpec => ({ codec: 'quant', bits: 8, granularity: 'tensor', entropy });
    const rans = createFeatureCodec(spec('rans'));
    const bytes = rans.encode(x, shape);
    expect(bytes.length).toBeLessThan(createFeatureCodec(spec('packed')).encode(x, shape).length * 0.6);
    // estimatedBits counts header, side info and -log2 p; the stream adds at most the
    // 4-byte rANS state and the side information's byte padding.
    const est = rans.estimatedBits(x, shape) / 8;
    expect(rans.lastEstimatedBits / 8).toBeCloseTo(est, 9); // the by-product of encode agrees
    // ... and equals header + side info + the table cost of the symbols, recomputed here.
    const q = quantize(x, shape, 8, 'tensor');
    const model = buildHistogramModel(q.symbols, 256);
    expect(est).toBeCloseTo((1 + 3 + 8) + (model.sideBits + ransCostBits(q.symbols, model.table)) / 8, 6);
    expect(bytes.length).toBeGreaterThanOrEqual(Math.floor(est));
    expect(bytes.length).toBeLessThanOrEqual(est * 1.01 + 5);
  });
});

describe('histogram model', () => {
  test('side information round-trips to the same table', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(fc.nat(), { minLength: 1, maxLength: 2000 }), (bits, raw) => {
        const symbols = Uint8Array.from(raw, (v) => v % (1 << bits));
        const model = buildHistogramModel(symbols, 1 << bits);
        const back = readHistogramModel(model.sideInfo, 0, 1 << bits);
        expect(back.end).toBe(model.sideInfo.length);
        expect(Array.from(back.table.freq)).toEqual(Array.from(model.table.freq));
        expect(back.table.minSym[0]).toBe(model.table.minSym[0]);
        expect(Number.isFinite(ransCostBits(symbols, model.table))).toBe(true);
        ransEncode(symbols, back.table); // every symbol present has a non-zero frequency
      }),
      { numRuns: 200 },
    );
  });

  test('normalisation keeps rare symbols and hits the total', () => {
    const f = normaliseCounts([1000000, 1, 0, 1, 5], 8)!;
    expect(Array.from(f)).toEqual([253, 1, 0, 1, 1]);
    expect(normaliseCounts([1, 1, 1], 1)).toBeUndefined();
  });

  test('a single-valued tensor costs a few side bits and the 4-byte state', () => {
    const model = buildHistogramModel(new Uint8Array(5000).fill(17), 256);
    expect(model.sideInfo.length).toBe(3); // lo, range, precision, order = 24 bits
    expect(ransEncode(new Uint8Array(5000).fill(17), model.table).length).toBe(4);
  });
});

describe('quantisation', () => {
  test('maps each channel min and max to 0 and 2^bits-1 and reconstructs within half a step', () => {
    const x = Float32Array.from([0, 10, -1, 5, 2, 1.2, 4, 0, 3, 1, 9.2, -1]); // [2,2,3]: channels [0,5,4,1], [10,2,0,9.2], [-1,1.2,3,-1]
    const q = quantize(x, [2, 2, 3], 4, 'channel');
    expect(Array.from(q.offset)).toEqual([0, 0, -1]);
    expect(Array.from(q.scale)).toEqual([Math.fround(5 / 15), Math.fround(10 / 15), Math.fround(4 / 15)]);
    expect(Array.from(q.symbols)).toEqual([0, 15, 0, 15, 3, 8, 12, 0, 15, 3, 14, 0]);
    const back = dequantize(q);
    x.forEach((v, i) => expect(Math.abs(back[i] - v)).toBeLessThanOrEqual(q.scale[i % 3] / 2 + 1e-6));
  });

  test('bit packing round-trips and is dense', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(fc.nat(255), { maxLength: 100 }), (bits, raw) => {
        const s = Uint8Array.from(raw, (v) => v & ((1 << bits) - 1));
        const p = packBits(s, bits);
        expect(p.length).toBe(Math.ceil((s.length * bits) / 8));
        const out = new Uint8Array(s.length);
        unpackBits(p, bits, s.length, out);
        expect(Array.from(out)).toEqual(Array.from(s));
      }),
    );
  });
});

describe('float16', () => {
  test('known conversions, rounding to nearest even', () => {
    const cases: Array<[number, number]> = [
      [1, 0x3c00], [-2, 0xc000], [65504, 0x7bff], [65520, 0x7c00], [2 ** -14, 0x0400],
      [2 ** -24, 0x0001], [2 ** -25, 0x0000], [1 / 3, 0x3555], [0.1, 0x2e66], [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02],
    ];
    for (const [v, h] of cases) expect(toHalfBits(v)).toBe(h);
    expect(fromHalfBits(0x3555)).toBeCloseTo(0.333251953125, 12);
    expect(fromHalfBits(0x0001)).toBe(2 ** -24);
  });
});
