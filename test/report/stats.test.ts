import { batchMeansHalfWidth, mean, quantileSorted, sampleStd, studentTCentralProb, studentTQuantile } from '../../src/report/stats';
import { formatCell, toCsv } from '../../src/report/csv';
import { Rng } from '../../src/engine/rng';
import { formatTable } from '../../src/report/table';

describe('summary statistics', () => {
  test('mean, sample std and type-7 quantiles', () => {
    const xs = [2, 4, 4, 4, 5, 5, 7, 9];
    expect(mean(xs)).toBe(5);
    expect(sampleStd(xs)).toBeCloseTo(Math.sqrt(32 / 7), 12);
    const sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(quantileSorted(sorted, 0.5)).toBe(5.5);
    expect(quantileSorted(sorted, 0.95)).toBeCloseTo(9.55, 12);
    expect(quantileSorted(sorted, 0)).toBe(1);
    expect(quantileSorted(sorted, 1)).toBe(10);
    expect(quantileSorted([], 0.5)).toBeNaN();
    expect(sampleStd([3])).toBeNaN();
  });

  test("Student's t quantiles match published tables", () => {
    // Two-sided 95% critical values (e.g. NIST/SEMATECH e-Handbook, table 1.3.6.7.2).
    const table: Array<[number, number]> = [[1, 12.706], [2, 4.303], [3, 3.182], [5, 2.571], [10, 2.228], [19, 2.093], [30, 2.042], [100, 1.984]];
    for (const [dof, t] of table) expect(studentTQuantile(0.975, dof)).toBeCloseTo(t, 3);
    expect(studentTQuantile(0.995, 9)).toBeCloseTo(3.250, 3);
    // The CDF and its inverse agree.
    expect(studentTCentralProb(studentTQuantile(0.9, 7), 7)).toBeCloseTo(0.8, 10);
    expect(() => studentTQuantile(0.4, 3)).toThrow();
  });

  test('batch-means half-width by hand: 1..40 in 4 batches', () => {
    const xs = Array.from({ length: 40 }, (_, i) => i + 1);
    // Batch means 5.5, 15.5, 25.5, 35.5: sd = sqrt(500/3); half-width = t(0.975, 3)·sd/2.
    const r = batchMeansHalfWidth(xs, 4);
    expect(r).toMatchObject({ batches: 4, batchSize: 10 });
    expect(r.halfWidth).toBeCloseTo((3.182446305 * Math.sqrt(500 / 3)) / 2, 6);
    // The oldest values are the ones left out when the length is not a multiple.
    const r2 = batchMeansHalfWidth([1000, ...xs], 4);
    expect(r2.halfWidth).toBeCloseTo(r.halfWidth, 12);
    expect(batchMeansHalfWidth([1], 20).halfWidth).toBeNaN();
  });

  test('batch-means covers the true mean of a correlated series about 95% of the time', () => {
    // AR(1) with phi = 0.9: plain iid intervals would be far too narrow; batch means are not.
    const rng = new Rng(99, 'ar1');
    let covered = 0, coveredIid = 0;
    const trials = 150;
    for (let t = 0; t < trials; t++) {
      const xs = new Float64Array(10_000);
      let x = 0;
      for (let i = 0; i < xs.length; i++) xs[i] = x = 0.9 * x + rng.normal();
      if (Math.abs(mean(xs)) < batchMeansHalfWidth(xs, 20).halfWidth) covered++;
      if (Math.abs(mean(xs)) < (1.96 * sampleStd(xs)) / Math.sqrt(xs.length)) coveredIid++;
    }
    expect(coveredIid / trials).toBeLessThan(0.6);
    expect(covered / trials).toBeGreaterThan(0.88);
    expect(covered / trials).toBeLessThanOrEqual(1);
  });
});

describe('CSV and tables', () => {
  test('cells: binary noise trimmed, non-finite numbers empty, strings quoted when needed', () => {
    expect(formatCell(0.1 + 0.2)).toBe('0.3');
    expect(formatCell(NaN)).toBe('');
    expect(formatCell(Infinity)).toBe('');
    expect(formatCell(42)).toBe('42');
    expect(formatCell(1 / 3)).toBe('0.333333333333');
    expect(toCsv([{ a: 'x,y', b: 1.5 }, { a: 'z', b: NaN }], ['a', 'b'])).toBe('a,b\n"x,y",1.5\nz,\n');
  });

  test('tables align columns', () => {
    expect(formatTable(['name', 'n'], [['a', '1'], ['bbb', '22']])).toBe('name   n\n----  --\na      1\nbbb   22');
  });
});
