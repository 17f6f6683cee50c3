import fc from 'fast-check';
import { RANS_PRECISION, RansTable, ransCostBits, ransDecode, ransEncode } from '../../src/codecs/rans';

const M = 1 << RANS_PRECISION;

/** Turns arbitrary positive weights into frequencies summing to 2^16, each >= 1. */
function toFreqs(weights: number[]): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  const f = weights.map((w) => Math.max(1, Math.floor((w / total) * (M - weights.length))));
  const sum = f.reduce((a, b) => a + b, 0);
  f[f.indexOf(Math.max(...f))] += M - sum;
  return f;
}

/** Draws symbols from a table by inverting its CDF at uniform points. */
function drawSymbols(table: RansTable, uniforms: number[]): number[] {
  return uniforms.map((u, i) => {
    const c = i % table.contexts;
    const slot = Math.floor(u * M);
    let k = 0;
    while (table.start[c * table.stride + k] + table.freq[c * table.stride + k] <= slot) k++;
    return table.minSym[c] + Math.min(k, table.inRange[c] - 1);
  });
}

const tableArb = fc
  .record({
    contexts: fc.integer({ min: 1, max: 5 }),
    withEscape: fc.boolean(),
    minSym: fc.integer({ min: -300, max: 300 }),
    // Skewed weights (powers) produce both near-certain and very rare symbols.
    weights: fc.array(fc.array(fc.double({ min: 0.001, max: 1, noNaN: true }), { minLength: 1, maxLength: 40 }), { minLength: 5, maxLength: 5 }),
    power: fc.integer({ min: 1, max: 12 }),
  })
  .map(({ contexts, withEscape, minSym, weights, power }) => {
    const freqs = weights.slice(0, contexts).map((w) => {
      const ws = w.map((v) => v ** power);
      if (withEscape) ws.push(1e-6);
      return toFreqs(ws);
    });
    return new RansTable(new Array(contexts).fill(minSym), freqs, withEscape);
  });

describe('rANS', () => {
  test('round-trips every stream, escapes included, and stays within 1% + 4 bytes of the ideal cost', () => {
    fc.assert(
      fc.property(
        tableArb,
        fc.array(fc.double({ min: 0, max: 0.999999, noNaN: true }), { maxLength: 3000 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }))),
        (table, uniforms, outliers) => {
          const symbols = drawSymbols(table, uniforms);
          if (table.escIndex[0] >= 0) for (const [at, v] of outliers) if (symbols.length) symbols[at % symbols.length] = v;
          const bytes = ransEncode(symbols, table);
          const out = new Int32Array(symbols.length);
          const end = ransDecode(bytes, 0, symbols.length, table, out);
          expect(end).toBe(bytes.length);
          expect(Array.from(out)).toEqual(symbols);
          const ideal = ransCostBits(symbols, table) / 8;
          expect(bytes.length).toBeLessThanOrEqual(ideal * 1.01 + 4);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('codes the extreme int32 values through the escape', () => {
    const table = new RansTable([0], [[M / 2, M / 4, M / 4]], true);
    const symbols = [-(2 ** 31), 2 ** 31 - 1, 0, 1, 2, -1, 65536, -65537];
    const bytes = ransEncode(symbols, table);
    const out = new Int32Array(symbols.length);
    ransDecode(bytes, 0, symbols.length, table, out);
    expect(Array.from(out)).toEqual(symbols);
    // 0 and 1 are in range (1 and 2 bits), 2 is escape + 1 bit of Exp-Golomb (code 0) ...
    expect(ransCostBits([0, 1], table)).toBeCloseTo(3, 12);
    expect(ransCostBits([2], table)).toBeCloseTo(2 + 1, 12);
    expect(ransCostBits([-1], table)).toBeCloseTo(2 + 3, 12); // code 1 -> 3 bits
  });

  test('a certain symbol costs nothing: 100k of them fit in the 4-byte state', () => {
    const table = new RansTable([7], [[M]], false);
    const symbols = new Int32Array(100000).fill(7);
    const bytes = ransEncode(symbols, table);
    expect(bytes.length).toBe(4);
    const out = new Int32Array(symbols.length);
    expect(ransDecode(bytes, 0, symbols.length, table, out)).toBe(4);
    expect(out.every((v) => v === 7)).toBe(true);
  });

  test('uniform 8-bit symbols cost one byte each', () => {
    const table = new RansTable([0], [new Array(256).fill(256)], false);
    const symbols = Array.from({ length: 1000 }, (_, i) => (i * 97) % 256);
    expect(ransEncode(symbols, table).length).toBe(1000 + 4);
  });

  test('contexts follow the channel (index mod C)', () => {
    // Context 0 only allows 0..1, context 1 only 10..11: swapping channels must fail.
    const table = new RansTable([0, 10], [[M / 2, M / 2], [M / 2, M / 2]], false);
    const ok = [0, 10, 1, 11, 1, 10];
    const out = new Int32Array(ok.length);
    ransDecode(ransEncode(ok, table), 0, ok.length, table, out);
    expect(Array.from(out)).toEqual(ok);
    expect(() => ransEncode([10, 0], table)).toThrow(/symbol 0 at 1 is outside context 1/);
  });

  test('rejects bad tables and truncated streams', () => {
    expect(() => new RansTable([0], [[M - 1]], false)).toThrow(/sum to 65535/);
    expect(() => new RansTable([0], [[M, 0]], true)).toThrow(/escape has zero frequency/);
    const table = new RansTable([0], [[M / 2, M / 4, M / 4]], false);
    const symbols = Array.from({ length: 200 }, (_, i) => i % 3);
    const bytes = ransEncode(symbols, table);
    const out = new Int32Array(200);
    expect(() => ransDecode(bytes.subarray(0, bytes.length - 3), 0, 200, table, out)).toThrow(/truncated/);
    expect(() => ransEncode([0, 3], table)).toThrow(/no escape/);
  });
});
