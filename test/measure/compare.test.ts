import { parseCsv } from '../../src/cli/compare';
import { wilsonHalfWidth95 } from '../../src/measure/aggregate';
import { compareFindings, paretoRank, type CompareInput } from '../../src/measure/compare';

function row(model: string, split: string, codec: string, kind: string, accuracy: number, bytes: number): CompareInput {
  return { model, split, codec, params: '', kind, samples: 1000, accuracy, accuracy_ci95: 0.01, bytes_mean: bytes, bytes_p95: bytes, encode_ms_mean: 0, decode_ms_mean: 0 };
}

const rows: CompareInput[] = [
  row('teacher', 'input', 'raw', 'input', 0.92, 784),
  row('teacher', 'input', 'png', 'input', 0.92, 400),
  row('teacher', 'input', 'jpeg', 'input', 0.905, 300),
  row('teacher', 'input', 'webp', 'input', 0.80, 150),
  row('teacher', 'stage2', 'quant', 'naive', 0.915, 900),
  row('teacher', 'pool', 'quant', 'naive', 0.92, 80),
  row('student-b1', 'bottleneck', 'factorized', 'bottleneck', 0.91, 90),
  row('student-b4', 'bottleneck', 'factorized', 'bottleneck', 0.90, 50),
  row('student-b16', 'bottleneck', 'factorized', 'bottleneck', 0.85, 20),
];

describe('rate-accuracy comparison', () => {
  test('Pareto front: each member beats every cheaper pipeline on accuracy', () => {
    const ranked = paretoRank(rows);
    expect(ranked.map((r) => r.bytes_mean)).toEqual([20, 50, 80, 90, 150, 300, 400, 784, 900]);
    expect(ranked.filter((r) => r.pareto).map((r) => `${r.model}/${r.codec}`)).toEqual([
      'student-b16/factorized', 'student-b4/factorized', 'teacher/quant',
    ]);
  });

  test('without a student within 1.5 points, the most accurate one is the fallback reference', () => {
    const f = compareFindings(rows.filter((r) => r.model !== 'student-b1'));
    expect(f.reference).toBeUndefined();
    expect(f.closest!.row.model).toBe('student-b4');
    // Input codecs with top-1 >= 90%: jpeg (300 bytes), png (400), raw (784).
    expect(f.closest!.inputAtLeast.map((x) => [x.row.codec, x.ratio])).toEqual([['jpeg', 6], ['png', 8], ['raw', 784 / 50]]);
  });

  test('findings: reference student, input ratios, naive splits input codecs do not dominate', () => {
    const f = compareFindings(rows);
    expect(f.teacherAccuracy).toBe(0.92);
    // Students within 1.5 points of 92%: only b1 (91%); b4 (90%) is 2 points off.
    expect(f.reference!.row.model).toBe('student-b1');
    expect(f.reference!.bytes).toBe(90);
    // Input codecs with accuracy >= 91%: raw and png.
    expect(f.inputAtLeastA.map((x) => x.row.codec)).toEqual(['png', 'raw']);
    expect(f.minInputRatio).toBeCloseTo(400 / 90, 12);
    // stage2 is dominated by raw (92% >= 91.5%, 784 <= 900); pool is not (80 bytes).
    expect(f.naiveUndominated.map((r) => r.split)).toEqual(['pool']);
    // Per split point, in the order measured: stage2 then pool.
    expect(f.bySplit.map((b) => [b.split, b.undominated, b.total, b.cheapest?.bytes_mean, b.inputCheapest?.codec])).toEqual([
      ['stage2', 0, 1, 900, 'jpeg'], // level = 92% - 1.5 points = 90.5%: jpeg (90.5%, 300 bytes)
      ['pool', 1, 1, 80, 'jpeg'],
    ]);
    const l0 = f.levels[0];
    expect(l0.cheapest.input!.codec).toBe('png');
    expect(l0.cheapest.naive!.split).toBe('pool');
    expect(l0.cheapest.bottleneck).toBeUndefined();
  });
});

describe('helpers', () => {
  test('Wilson half-width at p = 0.5, n = 100 and at the edges', () => {
    // Wilson interval for 50/100: [0.4038, 0.5962].
    expect(wilsonHalfWidth95(50, 100)).toBeCloseTo(0.0962, 4);
    expect(wilsonHalfWidth95(100, 100)).toBeGreaterThan(0);
    expect(Number.isNaN(wilsonHalfWidth95(0, 0))).toBe(true);
  });

  test('CSV parser: quotes, doubled quotes, CRLF', () => {
    expect(parseCsv('a,b\r\n"x,1","say ""hi"""\n3,\n')).toEqual([['a', 'b'], ['x,1', 'say "hi"'], ['3', '']]);
  });
});
