import { medianAbs, PUBLISHED_POINTS, validatePublished } from '../../src/hardware/published';

/** The five measurements issue 4 names; the tests hold the model to them. */
const REQUIRED = [
  ['jetson-nano', 'resnet18', 224, 'fp32', 26],
  ['jetson-nano', 'resnet50', 256, 'fp32', 79],
  ['jetson-tx2', 'resnet50', 224, 'fp32', 27.1],
  ['raspberry-pi-4', 'mobilenetv2', 224, 'fp32', 56.6],
  ['agx-xavier', 'resnet50', 256, 'fp32', 9.9],
] as const;

describe('validation against published batch-1 measurements', () => {
  const rows = validatePublished();

  test('the required points are in the table with their published values', () => {
    for (const [device, model, size, precision, ms] of REQUIRED) {
      const p = PUBLISHED_POINTS.find((x) => x.device === device && x.model === model && x.inputSize === size && x.precision === precision);
      expect(p?.measuredMs).toBe(ms);
    }
  });

  test('required points: median |error| <= 20 %, none worse than 40 %', () => {
    const req = rows.filter((r) => REQUIRED.some(([d, m, s, p]) => r.device === d && r.model === m && r.inputSize === s && r.precision === p));
    expect(req).toHaveLength(5);
    expect(medianAbs(req.map((r) => r.errorPct))).toBeLessThanOrEqual(20);
    for (const r of req) expect(Math.abs(r.errorPct)).toBeLessThanOrEqual(40);
  });

  test('all points (including torch2trt FP16): median |error| <= 20 %, none worse than 40 %', () => {
    expect(medianAbs(rows.map((r) => r.errorPct))).toBeLessThanOrEqual(20);
    for (const r of rows) expect(Math.abs(r.errorPct)).toBeLessThanOrEqual(40);
  });

  test('held-out points (no profile number was chosen with them) also meet the 40 % bound', () => {
    const held = rows.filter((r) => r.role === 'held-out');
    expect(held.length).toBeGreaterThanOrEqual(3);
    for (const r of held) expect(Math.abs(r.errorPct)).toBeLessThanOrEqual(40);
  });

  test('issue 13: >= 6 cited batch-1 figures of T4/A100/H100-class GPUs and Jetson AGX Xavier/Orin at FP16 or INT8, none used in fitting: median |error| <= 20 %, worst <= 40 %', () => {
    const gpu = rows.filter((r) => r.gpuCheck);
    expect(gpu.length).toBeGreaterThanOrEqual(6);
    for (const r of gpu) {
      expect(r.role).toBe('held-out');
      expect(['fp16', 'int8']).toContain(r.precision);
      expect(['t4', 'a100', 'h100', 'h200', 'agx-xavier', 'agx-orin']).toContain(r.device);
      expect(r.source).toMatch(/mlcommons\/inference_results_v[0-9.]+\/closed\/NVIDIA/);
    }
    expect(new Set(gpu.map((r) => r.device)).size).toBeGreaterThanOrEqual(4);
    expect(medianAbs(gpu.map((r) => r.errorPct))).toBeLessThanOrEqual(20);
    for (const r of gpu) expect(`${r.device} ${r.source} ${Math.abs(r.errorPct) <= 40}`).toMatch(/ true$/);
  });

  test('the 12 points of issue 4 do not get worse beyond noise (before issue 13: median |error| 3.8 %, worst 22.4 %)', () => {
    const old = rows.slice(0, 12);
    expect(medianAbs(old.map((r) => r.errorPct))).toBeLessThanOrEqual(3.8 + 1);
    for (const r of old) expect(Math.abs(r.errorPct)).toBeLessThanOrEqual(22.4);
  });

  test('errors are computed as (predicted - published) / published', () => {
    for (const r of rows) expect(r.errorPct).toBeCloseTo(((r.predictedMs - r.measuredMs) / r.measuredMs) * 100, 9);
  });
});
