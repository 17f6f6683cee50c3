import { decide } from '../../src/report/decision';
import type { SummaryRow } from '../../src/report/summary';
import { pairedDifference } from '../../src/report/stats';

const row = (pipeline: string, o: Record<string, number>): SummaryRow =>
  ({ pipeline, completed: 100, deadline_miss_ratio: NaN, e2e_p95_ms: (o.e2e_mean_ms ?? 0) * 1.2, ...o } as unknown as SummaryRow);

const ROWS = [
  row('ref/device-only', { e2e_mean_ms: 50, energy_mj: 30, accuracy: 0.93 }),
  row('fast-but-bad', { e2e_mean_ms: 10, energy_mj: 20, accuracy: 0.80 }),
  row('good', { e2e_mean_ms: 20, energy_mj: 40, accuracy: 0.92 }),
  row('late', { e2e_mean_ms: 15, energy_mj: 25, accuracy: 0.93, deadline_miss_ratio: 0.2 }),
  row('dominated', { e2e_mean_ms: 60, energy_mj: 50, accuracy: 0.90 }),
];

describe('decision', () => {
  test('best = the fastest row meeting every constraint; violators ranked after and say why', () => {
    const d = decide(ROWS, { objective: 'latency', maxAccuracyDrop: 1.5, reference: 'ref/device-only', maxMissRatio: 0.05 });
    expect(d.accuracyFloor).toBeCloseTo(0.915, 12);
    expect(d.rows.map((r) => r.pipeline)).toEqual(['good', 'ref/device-only', 'fast-but-bad', 'late', 'dominated']);
    expect(d.best!.pipeline).toBe('good');
    expect(d.rows.map((r) => r.best)).toEqual([1, 0, 0, 0, 0]);
    const why = Object.fromEntries(d.rows.map((r) => [r.pipeline, r.violates]));
    expect(why['fast-but-bad']).toBe('top-1 80.00% < 91.50%');
    expect(why.late).toBe('misses the deadline 20.00% > 5.00%');
    expect(why.dominated).toBe('top-1 90.00% < 91.50%');
    expect(d.rows.map((r) => r.rank)).toEqual([1, 2, 3, 4, 5]);
  });

  test('objective energy, an absolute floor, and the default 1.5-point drop', () => {
    const e = decide(ROWS, { objective: 'energy', minAccuracy: 0.9, reference: 'ref/device-only', maxMissRatio: 1 });
    expect(e.best!.pipeline).toBe('late');
    const dflt = decide(ROWS, { objective: 'latency', reference: 'ref/device-only', maxMissRatio: 0.05 });
    expect(dflt.accuracyFloor).toBeCloseTo(0.915, 12);
    const none = decide(ROWS, { objective: 'latency', minAccuracy: 0.99, maxMissRatio: 0.05 });
    expect(none.best).toBeUndefined();
    expect(none.rows.every((r) => r.feasible === 0)).toBe(true);
  });

  test('Pareto front over latency, energy and top-1', () => {
    const d = decide(ROWS, { objective: 'latency', reference: 'ref/device-only', maxMissRatio: 1 });
    const front = d.rows.filter((r) => r.pareto === 1).map((r) => r.pipeline).sort();
    // 'late' (15 ms, 25 mJ, 93%) dominates the reference (50, 30, 93%) and 'good' (20, 40, 92%);
    // only 'fast-but-bad' is faster and cheaper still.
    expect(front).toEqual(['fast-but-bad', 'late']);
  });
});

describe('paired accuracy difference', () => {
  test('discordant pairs give the difference, its CI and an exact McNemar p', () => {
    // 100 samples: 10 only the first gets right, 4 only the second.
    const a = new Uint8Array(100), b = new Uint8Array(100);
    for (let i = 0; i < 60; i++) { a[i] = 1; b[i] = 1; }
    for (let i = 60; i < 70; i++) a[i] = 1;
    for (let i = 70; i < 74; i++) b[i] = 1;
    const p = pairedDifference(a, b);
    expect(p.diff).toBeCloseTo(0.06, 12);
    expect(p.ci95).toBeCloseTo((1.959963984540054 * Math.sqrt(14 - 36 / 100)) / 100, 12);
    // Two-sided binomial test, 4 of 14 at 1/2: 2 * sum_{i<=4} C(14, i) / 2^14.
    const c = [1, 14, 91, 364, 1001].reduce((s, x) => s + x, 0);
    expect(p.mcnemarP).toBeCloseTo((2 * c) / 16384, 12);
    expect(pairedDifference(a, a)).toMatchObject({ diff: 0, ci95: 0, mcnemarP: 1 });
  });
});
