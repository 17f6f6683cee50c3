import { parse } from 'yaml';
import { validate } from '../../src/config/load';
import { hostProfile, hostProfileYaml, timeMs, type CalibrationResult } from '../../src/hardware/calibrate';
import { predictLayers, sumMs } from '../../src/hardware/cost';
import { profileSchema, type HardwareProfile } from '../../src/hardware/profile';
import { errorsByCategory, hostMarkdown, measureLayerMs, validateHost } from '../../src/hardware/validate-host';
import { analyzeModel } from '../../src/model/analysis';
import { initBackend, tf } from '../../src/model/backend';

/** Plumbing of calibrate and validate-host on a small model; no timing assertions. */
const fake: CalibrationResult = {
  backend: 'wasm',
  clock: 'process-cpu',
  cpu: 'test cpu',
  cores: 2,
  tfjsVersion: '4.22.0',
  splitsimVersion: '0.1.0',
  measuredAt: '2026-01-01T00:00:00.000Z',
  durationMs: 1234,
  peakGflops: 20,
  bandwidthGBps: 40,
  perLayerMs: 0.02,
  efficiency: { conv: 1, conv3x3: 0.9, deconv: 0.1, depthwise: 0.4, dense: 0.2, gdn: 0.6, normalization: 0.02, elementwise: 0.1, pooling: 0.06, data: 0.2 },
  benchmarks: { matmul768: { ms: 45, flops: 2 * 768 ** 3, bytes: 0, reps: 10 } },
};

function small(): tf.LayersModel {
  const x = tf.input({ shape: [16, 16, 3] });
  let y = tf.layers.conv2d({ name: 'c', filters: 8, kernelSize: 3, padding: 'same' }).apply(x) as tf.SymbolicTensor;
  y = tf.layers.batchNormalization({ name: 'bn' }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.reLU({ name: 'r' }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.dense({ name: 'fc', units: 4 }).apply(y) as tf.SymbolicTensor;
  return tf.model({ inputs: x, outputs: y });
}

beforeAll(async () => {
  await initBackend();
});

test('the calibrated host profile is a valid profile, and its YAML round-trips with comments', () => {
  const p = hostProfile(fake, 'host');
  expect(validate(profileSchema, p, 'host.yaml')).toEqual(p);
  const text = hostProfileYaml(p);
  expect(text.startsWith('# Host profile written by')).toBe(true);
  expect(validate(profileSchema, parse(text), 'host.yaml')).toEqual(p);
  expect(p.fusion).toEqual({ batchNorm: false, activation: false, add: false, views: false });
  expect(p.compute.fp32!.peakGflops).toBe(20);
});

test('timeMs repeats at least minReps times and returns positive times', () => {
  const a = tf.ones([64, 64]);
  const r = timeMs(() => tf.matMul(a, a), 5, 4);
  expect(r.reps).toBeGreaterThanOrEqual(4);
  expect(r.ms).toBeGreaterThanOrEqual(r.minMs);
  expect(r.minMs).toBeGreaterThanOrEqual(0);
  a.dispose();
});

test('measureLayerMs times every layer but the input, without leaking tensors', () => {
  const m = small();
  const before = tf.memory().numTensors;
  const t = measureLayerMs(m, 1, 1);
  expect(tf.memory().numTensors).toBe(before);
  expect([...t.keys()]).toEqual(['c', 'bn', 'r', 'gap', 'fc']);
  m.dispose();
});

test('validateHost: one row per layer and per model, predictions from the given profile', async () => {
  const profile: HardwareProfile = hostProfile(fake);
  const calls: string[] = [];
  const res = await validateHost(
    [{ name: 'small', build: small }],
    async (round, target) => {
      calls.push(`${round}:${target}`);
      return profile;
    },
    { rounds: 2, layerBudgetMs: 1, modelBudgetMs: 1 },
  );
  expect(calls).toEqual(['0:small', '1:small']);
  expect(res.models).toHaveLength(1);
  const m = res.models[0];
  expect(m.rounds).toBe(2);
  const ref = small();
  const expected = sumMs(predictLayers(analyzeModel(ref).layers, profile));
  ref.dispose();
  expect(m.predictedMs).toBeCloseTo(expected, 9);
  expect(m.errorMinPct).toBeLessThanOrEqual(m.errorPct);
  expect(m.errorMaxPct).toBeGreaterThanOrEqual(m.errorPct);
  expect(res.layers.map((l) => l.layer)).toEqual(['c', 'bn', 'r', 'gap', 'fc']);
  for (const l of res.layers) expect(l.errorPct).toBeCloseTo(((l.predictedMs - l.measuredMs) / l.measuredMs) * 100, 9);
  const cats = errorsByCategory(res.layers);
  expect(cats.map((c) => c.category).sort()).toEqual(['conv3x3', 'dense', 'elementwise', 'normalization', 'pooling']);
  expect(hostMarkdown(res)).toContain('| small | 16x16x3 | 6 |');
});
