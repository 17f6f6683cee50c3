import { z } from 'zod';
import { distributionMean, distributionSchema, makeSampler, type DistributionSpec } from '../../src/engine/distributions';
import { Rng } from '../../src/engine/rng';

const field = z.object({ x: distributionSchema({ min: 0 }) }).strict();
const parse = (x: unknown) => field.parse({ x }).x;
const issue = (x: unknown) => {
  const r = field.safeParse({ x });
  if (r.success) throw new Error(`expected ${JSON.stringify(x)} to be rejected`);
  return r.error.issues[0];
};

function draws(spec: DistributionSpec, n: number, seed = 1): Float64Array {
  const s = makeSampler(spec);
  const rng = new Rng(seed, 'test');
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = s(rng);
  return out;
}
function moments(xs: Float64Array): { mean: number; std: number } {
  let m = 0;
  for (const x of xs) m += x;
  m /= xs.length;
  let v = 0;
  for (const x of xs) v += (x - m) ** 2;
  return { mean: m, std: Math.sqrt(v / (xs.length - 1)) };
}

describe('distribution specs', () => {
  test('a number is deterministic, a list is an empirical bootstrap, objects are normalised', () => {
    expect(parse(5)).toEqual({ type: 'deterministic', value: 5 });
    expect(parse([3, 1, 2])).toEqual({ type: 'empirical', samples: [3, 1, 2] });
    expect(parse({ type: 'exponential', mean: 4 })).toEqual({ type: 'exponential', mean: 4 });
    // A normal in a non-negative field is clamped at 0 unless told otherwise.
    expect(parse({ type: 'normal', mean: 1, std: 2 })).toEqual({ type: 'normal', mean: 1, std: 2, min: 0 });
  });

  test('rejects bad specs with the path of the offending field', () => {
    expect(issue(-1)).toMatchObject({ path: ['x'], message: 'must be >= 0' });
    expect(issue([1, -2, 3])).toMatchObject({ path: ['x', 1] });
    expect(issue({ type: 'uniform', min: -1, max: 2 })).toMatchObject({ path: ['x', 'min'] });
    expect(issue({ type: 'uniform', min: 3, max: 2 })).toMatchObject({ path: ['x', 'max'] });
    expect(issue({ type: 'exponential', meen: 2 }).path).toEqual(['x', 'mean']);
    const misspelled = field.safeParse({ x: { type: 'exponential', mean: 2, meen: 2 } });
    expect(misspelled.success).toBe(false);
    if (!misspelled.success) expect(misspelled.error.issues[0]).toMatchObject({ code: 'unrecognized_keys', keys: ['meen'], path: ['x'] });
    expect(issue({ type: 'gamma', shape: 2 }).path).toEqual(['x', 'type']);
    expect(issue({ type: 'lognormal', mean: 2, std: 1, sigma: 1 }).message).toMatch(/either/);
    expect(issue({ type: 'lognormal', mean: 2 }).path).toEqual(['x', 'std']);
    expect(issue([]).message).toMatch(/at least one/);
    expect(issue('fast').message).toMatch(/expected a number/);
    expect(issue(undefined).message).toBe('Required');
    expect(issue({ type: 'normal', mean: 1, std: 1, min: -1 }).path).toEqual(['x', 'min']);
  });

  test('without a lower bound, negative values are fine', () => {
    const free = distributionSchema();
    expect(free.parse(-3)).toEqual({ type: 'deterministic', value: -3 });
    expect(free.parse({ type: 'normal', mean: 0, std: 1 })).toEqual({ type: 'normal', mean: 0, std: 1 });
  });
});

describe('samplers', () => {
  const N = 200_000;
  test('deterministic', () => {
    expect([...draws({ type: 'deterministic', value: 2.5 }, 5)]).toEqual([2.5, 2.5, 2.5, 2.5, 2.5]);
  });

  test('exponential: mean and standard deviation both equal the mean', () => {
    const m = moments(draws({ type: 'exponential', mean: 5 }, N));
    expect(m.mean).toBeCloseTo(5, 1);
    expect(m.std / 5).toBeCloseTo(1, 1);
    expect(Math.abs(m.mean - 5)).toBeLessThan((4 * 5) / Math.sqrt(N));
  });

  test('uniform: mean (a+b)/2, variance (b-a)^2/12, within bounds', () => {
    const xs = draws({ type: 'uniform', min: 2, max: 6 }, N);
    const m = moments(xs);
    expect(Math.abs(m.mean - 4)).toBeLessThan(0.01);
    expect(Math.abs(m.std - 4 / Math.sqrt(12))).toBeLessThan(0.01);
    expect(xs.reduce((a, b) => Math.min(a, b))).toBeGreaterThanOrEqual(2);
    expect(xs.reduce((a, b) => Math.max(a, b))).toBeLessThan(6);
  });

  test('normal, and clamping at min puts the lower tail mass on min', () => {
    const m = moments(draws({ type: 'normal', mean: 10, std: 2 }, N));
    expect(Math.abs(m.mean - 10)).toBeLessThan(0.02);
    expect(Math.abs(m.std - 2)).toBeLessThan(0.02);
    const clamped = draws({ type: 'normal', mean: 0.5, std: 1, min: 0 }, N);
    let zeros = 0, negatives = 0;
    for (const x of clamped) {
      if (x < 0) negatives++;
      if (x === 0) zeros++;
    }
    expect(negatives).toBe(0);
    // P(Z < -0.5) = 0.30854
    expect(Math.abs(zeros / N - 0.30854)).toBeLessThan(0.005);
  });

  test('lognormal by moments of the value and by mu/sigma of its log', () => {
    const m = moments(draws({ type: 'lognormal', mean: 10, std: 5 }, N));
    expect(Math.abs(m.mean - 10) / 10).toBeLessThan(0.01);
    expect(Math.abs(m.std - 5) / 5).toBeLessThan(0.03);
    const xs = draws({ type: 'lognormal', mu: 1, sigma: 0.5 }, N).sort();
    expect(Math.abs(xs[N / 2] - Math.E) / Math.E).toBeLessThan(0.01);
    expect(distributionMean({ type: 'lognormal', mu: 1, sigma: 0.5 })).toBeCloseTo(Math.exp(1.125), 12);
  });

  test('empirical: resamples the given values with their frequencies', () => {
    const xs = draws({ type: 'empirical', samples: [1, 2, 2, 7] }, N);
    const freq = new Map<number, number>();
    for (const x of xs) freq.set(x, (freq.get(x) ?? 0) + 1);
    expect([...freq.keys()].sort()).toEqual([1, 2, 7]);
    expect(Math.abs(freq.get(1)! / N - 0.25)).toBeLessThan(0.005);
    expect(Math.abs(freq.get(2)! / N - 0.5)).toBeLessThan(0.005);
    expect(distributionMean({ type: 'empirical', samples: [1, 2, 2, 7] })).toBe(3);
  });

  test('same seed gives the same draws, another seed others; round gives integers', () => {
    const spec: DistributionSpec = { type: 'lognormal', mean: 1000, std: 300 };
    expect(draws(spec, 100, 5)).toEqual(draws(spec, 100, 5));
    expect(draws(spec, 100, 5)).not.toEqual(draws(spec, 100, 6));
    const s = makeSampler(spec, true);
    const rng = new Rng(1, 'r');
    let fractional = 0;
    for (let i = 0; i < 1000; i++) if (!Number.isInteger(s(rng))) fractional++;
    expect(fractional).toBe(0);
  });
});
