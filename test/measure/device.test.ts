import * as fs from 'fs';
import * as path from 'path';
import { compareFindings, methodOf, methodSummaries, pareto3Flags, paretoRank, type CompareInput } from '../../src/measure/compare';
import { codecDevice, deviceCosts, factorizedTableBits, headCost } from '../../src/measure/device';
import { analyzeModel } from '../../src/model/analysis';
import { initBackend } from '../../src/model/backend';
import { DEFAULT_ZOO_DIR, listZooModels, loadZooModel } from '../../src/model/zoo';

function row(model: string, split: string, codec: string, kind: string, accuracy: number, bytes: number, bits: number, macs = 0): CompareInput {
  return { model, split, codec, params: '', kind, samples: 1000, accuracy, accuracy_ci95: 0.01, bytes_mean: bytes, bytes_p95: bytes, encode_ms_host: 0, decode_ms_host: 0, device_bits: bits, device_macs: macs };
}

describe('three-way trade-off (bytes, device size, top-1)', () => {
  const rows = [
    row('teacher', 'input', 'raw', 'input', 0.92, 784, 0),
    row('teacher', 'input', 'webp', 'input', 0.90, 200, 0),
    row('nic', 'bottleneck', 'factorized', 'neural-input', 0.91, 120, 400_000),
    row('teacher', 'pool', 'quant', 'naive', 0.92, 30, 2_400_000),
    row('student', 'bottleneck', 'factorized', 'bottleneck', 0.91, 60, 900_000),
    row('student2', 'bottleneck', 'factorized', 'bottleneck', 0.90, 60, 950_000),
    row('unknown', 'x', 'quant', 'naive', 0.99, 1, NaN),
  ];

  test('a row is on the front unless another is no worse on all three and better on one; unknown device size is off it', () => {
    const flags = pareto3Flags(rows);
    expect(rows.filter((_, i) => flags[i]).map((r) => r.model)).toEqual(['teacher', 'teacher', 'nic', 'teacher', 'student']);
    // student2 is beaten by student (same bytes, smaller device, more accurate); 'unknown' has no device size
    const ranked = paretoRank(rows);
    expect(ranked.find((r) => r.model === 'student2')!.pareto3).toBe(0);
    expect(ranked.find((r) => r.model === 'unknown')!.pareto3).toBe(0);
    // the rate-accuracy front alone would keep only the cheapest rows
    expect(ranked.filter((r) => r.pareto).map((r) => r.model)).toEqual(['unknown']);
  });

  test('neural input codecs count as input compression in the SC2 findings', () => {
    const f = compareFindings(rows.filter((r) => r.model !== 'unknown'));
    expect(f.reference!.row.model).toBe('student');
    expect(f.inputAtLeastA.map((x) => x.row.model)).toEqual(['nic', 'teacher']);
    expect(f.minInputRatio).toBeCloseTo(2, 12);
  });

  test('methods: rate points, best top-1 within 64 bytes, bytes at the teacher minus 1.5 points, device size range', () => {
    expect(methodOf(rows[2])).toMatch(/neural input codec, factorized prior/);
    const m = methodSummaries(rows.filter((r) => r.model !== 'unknown'), 0.92);
    const st = m.find((x) => x.method.startsWith('Entropic Student, factorized'))!;
    expect([st.points, st.bytesMin, st.bytesMax, st.bestAt64!.model, st.atTolerance!.model, st.deviceBitsMin, st.deviceBitsMax]).toEqual([2, 60, 60, 'student', 'student', 900_000, 950_000]);
    const webp = m.find((x) => x.method === 'WebP on the input')!;
    expect(webp.bestAt64).toBeUndefined();
    expect(webp.atTolerance).toBeUndefined(); // 90% < 92% - 1.5 points
    expect(m.find((x) => x.method.startsWith('lossless input'))!.atTolerance!.bytes_mean).toBe(784);
  });
});

const haveZoo = fs.existsSync(path.join(DEFAULT_ZOO_DIR, 'index.json'));
const maybe = haveZoo ? describe : describe.skip;

maybe('device size and MACs of zoo pipelines', () => {
  beforeAll(async () => {
    await initBackend();
  });

  test('teacher: the head up to a split holds its layers\' weights; device-only the whole model; input nothing', async () => {
    const zm = await loadZooModel('teacher');
    const a = analyzeModel(zm.model, 'fp32', 'teacher');
    zm.model.dispose();
    // stem = one 3x3 conv of 1 -> 16 channels (BatchNorm folded): 16*9 + 16 weights
    expect(headCost(a, 'stem')).toEqual({ bits: 32 * (16 * 9 + 16), macs: 28 * 28 * 16 * 9 });
    expect(headCost(a, 'device-only')).toEqual({ bits: 32 * 77418, macs: a.totalMacs });
    expect(headCost(a, 'input')).toEqual({ bits: 0, macs: 0 });
    const d = await deviceCosts([{ model: 'teacher', split: 'pool', codec: 'quant' }, { model: 'teacher', split: 'input', codec: 'jpeg' }, { model: 'nope', split: 'pool', codec: 'quant' }], DEFAULT_ZOO_DIR);
    expect(d.get('teacher/pool/quant')!.bits).toBe(32 * (77418 - 650));
    expect(d.get('teacher/input/jpeg')).toEqual({ bits: 0, macs: 0 });
    expect(Number.isNaN(d.get('nope/pool/quant')!.bits)).toBe(true);
  });

  test('a student at its bottleneck: the encoder\'s weights plus the factorized prior\'s 16-bit tables', async () => {
    const zm = await loadZooModel('student-b0.1');
    const a = analyzeModel(zm.model, 'fp32', 'student-b0.1');
    zm.model.dispose();
    const tables = factorizedTableBits(zm.meta.bottleneck!.entropy!);
    const e = zm.meta.bottleneck!.entropy!;
    expect(tables).toBe(e.cdfs.reduce((s, c) => s + 16 * c.length, 0) + 64 * 16);
    const d = await deviceCosts([{ model: 'student-b0.1', split: 'bottleneck', codec: 'factorized' }], DEFAULT_ZOO_DIR);
    expect(d.get('student-b0.1/bottleneck/factorized')).toEqual({ bits: headCost(a, 'bottleneck').bits + tables, macs: headCost(a, 'bottleneck').macs });
    // 2.69 M MACs on the device (training/README.md)
    expect(headCost(a, 'bottleneck').macs / 1e6).toBeCloseTo(2.69, 1);
  });

  test('hyperprior models add h_a and h_s (weights and MACs) and their tables', async () => {
    const name = listZooModels().find((n) => n.startsWith('hpstudent-'));
    if (!name) {
      console.log('no hyperprior student in the zoo: skipped');
      return;
    }
    const zm = await loadZooModel(name);
    const c = codecDevice(zm.meta, 'hyperprior');
    zm.model.dispose();
    const h = zm.meta.bottleneck!.hyperprior as unknown as { analysis: Array<{ weight?: number[]; bias?: number[] }>; synthesis: Array<{ weight?: number[]; bias?: number[] }>; macs: number };
    const w = [...h.analysis, ...h.synthesis].reduce((s, l) => s + (l.weight?.length ?? 0) + (l.bias?.length ?? 0), 0);
    expect(c.bits).toBeGreaterThan(32 * w);
    // PyTorch's MAC count of h_a + h_s (export) equals ours
    expect(c.macs).toBe(h.macs);
  });
});
