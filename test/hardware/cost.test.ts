import { analyzeGraph, type GraphLayer, type LayerGraph } from '../../src/model/analysis';
import { analyzeReference } from '../../src/model/reference';
import {
  energyMj, fusionPlan, hasInlineActivation, predictLayers, predictModel, splitTimes, splitTimesCurve, sumMs, throughputPerS, utilisation,
} from '../../src/hardware/cost';
import { loadProfile, type HardwareProfile } from '../../src/hardware/profile';
import { UserError } from '../../src/util/errors';

const EFF = { conv: 0.5, conv3x3: 0.5, deconv: 0.5, depthwise: 0.1, dense: 0.25, gdn: 0.5, normalization: 0.1, elementwise: 0.1, pooling: 0.1, data: 0.1 };

/** A made-up device with round numbers so expected times can be worked out by hand. */
function device(over: Partial<HardwareProfile> = {}): HardwareProfile {
  return {
    name: 'toy',
    description: 'toy device',
    role: 'device',
    framework: 'none',
    defaultPrecision: 'fp32',
    compute: { fp32: { peakGflops: 100, efficiency: EFF }, fp16: { peakGflops: 200, efficiency: EFF } },
    memory: { bandwidthGBps: 10, efficiency: 0.5 },
    overhead: { perLayerMs: 0.01 },
    fusion: { batchNorm: true, activation: true, add: true, views: true },
    power: { activeW: 5, idleW: 1 },
    ...over,
  };
}

const L = (name: string, className: string, inbound: string[], inputShapes: number[][], outputShape: number[], config: Record<string, unknown> = {}): GraphLayer => ({
  name, className, inbound, inputShapes, outputShape, config,
});

/** input -> 1x1 conv (16->32 on 32x32) -> BN -> ReLU -> dense(10) after flatten. */
function graph(): LayerGraph {
  return {
    name: 'g',
    outputs: ['fc'],
    layers: [
      L('in', 'InputLayer', [], [], [32, 32, 16]),
      L('conv', 'Conv2D', ['in'], [[32, 32, 16]], [32, 32, 32], { filters: 32, kernelSize: [1, 1], strides: [1, 1], useBias: false }),
      L('bn', 'BatchNormalization', ['conv'], [[32, 32, 32]], [32, 32, 32], { axis: -1 }),
      L('relu', 'ReLU', ['bn'], [[32, 32, 32]], [32, 32, 32]),
      L('flat', 'Flatten', ['relu'], [[32, 32, 32]], [32768]),
      L('fc', 'Dense', ['flat'], [[32768]], [10], { units: 10, useBias: true }),
    ],
  };
}

describe('roofline per layer', () => {
  const a = analyzeGraph(graph());
  const conv = a.layers.find((l) => l.name === 'conv')!;
  const fc = a.layers.find((l) => l.name === 'fc')!;

  test('a compute-bound conv: FLOPs / (peak x efficiency) + overhead', () => {
    const costs = predictLayers(a.layers, device());
    const c = costs.find((x) => x.name === 'conv')!;
    // 32*32*32*16 MACs = 524288 -> 1048576 FLOPs at 100 GFLOP/s x 0.5 = 0.02097152 ms.
    expect(conv.flops).toBe(1048576);
    expect(c.computeMs).toBeCloseTo(0.02097152, 10);
    // (16384 + 32768) elements x 4 B + 512 weights x 4 B at 10 GB/s x 0.5 = 0.0396 ms: memory-bound here.
    expect(c.memoryMs).toBeCloseTo(((16384 + 32768 + 512) * 4) / 5e9 * 1e3, 10);
    expect(c.timeMs).toBeCloseTo(Math.max(c.computeMs, c.memoryMs) + 0.01, 10);
    expect(c.bound).toBe('memory');
  });

  test('a faster memory makes the same conv compute-bound', () => {
    const c = predictLayers(a.layers, device({ memory: { bandwidthGBps: 1000, efficiency: 1 } })).find((x) => x.name === 'conv')!;
    expect(c.bound).toBe('compute');
    expect(c.timeMs).toBeCloseTo(0.02097152 + 0.01, 10);
  });

  test('batch-1 dense streams its weights: memory-bound, and batching amortises the weights', () => {
    const one = predictLayers(a.layers, device(), { batch: 1 }).find((x) => x.name === 'fc')!;
    expect(one.bound).toBe('memory');
    const weightsBytes = fc.weightCount * 4;
    expect(one.memoryMs).toBeCloseTo(((32768 + 10) * 4 + weightsBytes) / 5e9 * 1e3, 10);
    const eight = predictLayers(a.layers, device(), { batch: 8 }).find((x) => x.name === 'fc')!;
    expect(eight.memoryMs).toBeCloseTo(((32768 + 10) * 4 * 8 + weightsBytes) / 5e9 * 1e3, 10);
    expect(eight.timeMs).toBeLessThan(8 * one.timeMs);
  });

  test('fp16 halves the bytes and uses the fp16 peak', () => {
    const c = predictLayers(a.layers, device(), { precision: 'fp16' }).find((x) => x.name === 'conv')!;
    expect(c.computeMs).toBeCloseTo(0.02097152 / 2, 10);
    expect(c.memoryMs).toBeCloseTo(((16384 + 32768 + 512) * 2) / 5e9 * 1e3, 10);
    expect(() => predictLayers(a.layers, device(), { precision: 'int8' })).toThrow(UserError);
  });
});

describe('fusion', () => {
  const a = analyzeGraph(graph());
  test('BN and ReLU fold into the conv, flatten is free, when the framework fuses', () => {
    const costs = predictLayers(a.layers, device());
    const by = new Map(costs.map((c) => [c.name, c]));
    expect(by.get('bn')).toMatchObject({ timeMs: 0, bound: 'fused', fusedInto: 'conv' });
    expect(by.get('relu')).toMatchObject({ timeMs: 0, bound: 'fused', fusedInto: 'conv' });
    expect(by.get('flat')).toMatchObject({ timeMs: 0, bound: 'free' });
  });

  test('without fusion every layer runs and pays the overhead', () => {
    const costs = predictLayers(a.layers, device({ fusion: { batchNorm: false, activation: false, add: false, views: false } }));
    for (const c of costs.filter((x) => x.type !== 'InputLayer')) expect(c.timeMs).toBeGreaterThanOrEqual(0.01);
  });

  test('nothing fuses across a split point or into a tensor with two consumers', () => {
    expect(fusionPlan(a.layers, device(), new Set(['conv'])).get('bn')).toBe('bn');
    const r = analyzeReference('resnet50');
    const plan = fusionPlan(r.layers, device());
    // The block input feeds both conv1 and the shortcut; the shortcut conv absorbs its BN,
    // the add goes into the main branch's last conv, and the block ReLU follows it.
    expect(plan.get('layer1.0.downsample.1')).toBe('layer1.0.downsample.0');
    expect(['layer1.0.conv3', 'layer1.0.downsample.0']).toContain(plan.get('layer1.0.add'));
    expect(plan.get('layer1.0.relu')).toBe(plan.get('layer1.0.add'));
    expect(plan.get('maxpool')).toBe('maxpool');
  });
});

describe('whole model', () => {
  test('per-layer times sum to totalMs; head + tail covers every layer at every split', () => {
    const a = analyzeReference('resnet50');
    const cost = predictModel(a, loadProfile('jetson-nano'));
    expect(cost.totalMs).toBeCloseTo(sumMs(cost.layers), 9);
    expect(cost.totalMacs).toBe(a.totalMacs);
    expect(cost.splitPoints.map((s) => s.layer)).toEqual(a.splitPoints);
    for (const s of cost.splitPoints) {
      // Splitting can only add work (fusion stops at the split), never remove it.
      expect(s.headMs + s.tailMs).toBeGreaterThanOrEqual(cost.totalMs - 1e-9);
      expect(s.headMs + s.tailMs).toBeLessThan(cost.totalMs * 1.1);
    }
    const heads = cost.splitPoints.map((s) => s.headMs);
    for (let i = 1; i < heads.length; i++) expect(heads[i]).toBeGreaterThanOrEqual(heads[i - 1] - 1e-9);
  });

  test('energy is active power x time', () => {
    const p = loadProfile('raspberry-pi-4');
    const cost = predictModel(analyzeReference('mobilenetv2'), p);
    expect(cost.energyMj).toBeCloseTo(p.power.activeW * cost.totalMs, 9);
    expect(energyMj(p, 10)).toBe(p.power.activeW * 10);
  });

  test('servers: a batch takes longer but raises throughput (weights and launches are shared)', () => {
    const a = analyzeReference('resnet50');
    const t4 = loadProfile('t4');
    const t1 = predictModel(a, t4, { batch: 1 }).totalMs;
    const t32 = predictModel(a, t4, { batch: 32 }).totalMs;
    expect(t32).toBeGreaterThan(t1);
    expect(t32).toBeLessThan(32 * t1);
    expect(throughputPerS(a, t4, 32)).toBeCloseTo((32 / t32) * 1e3, 6);
    expect(throughputPerS(a, t4, 32)).toBeGreaterThan(throughputPerS(a, t4, 1));
  });
});

describe('GPU kernel model: utilisation, minimum kernel time, runtimes', () => {
  /** A toy GPU: 10 SMs of 1000 outputs, 1 TFLOP/s at efficiency 0.5, 100 GB/s, 1 us launch, 5 us minimum kernel. */
  const gpu = (over: Partial<HardwareProfile> = {}): HardwareProfile =>
    device({
      compute: { fp32: { peakGflops: 1000, efficiency: EFF } },
      memory: { bandwidthGBps: 1000, efficiency: 1 },
      overhead: { perLayerMs: 0.001, minKernelMs: 0.005 },
      utilisation: { sms: 10, outputsPerSm: 1000 },
      ...over,
    });
  const a = analyzeGraph(graph());
  const conv = (p: HardwareProfile, batch: number) => predictLayers(a.layers, p, { batch }).find((x) => x.name === 'conv')!;

  test('a conv exposing n outputs reaches n / (n + sms x outputsPerSm) of its rate', () => {
    // 32x32x32 = 32768 outputs per sample against a width of 10 x 1000.
    for (const b of [1, 4, 64]) {
      const n = 32768 * b;
      const c = conv(gpu(), b);
      expect(c.utilisation).toBeCloseTo(n / (n + 10000), 12);
      expect(c.computeMs).toBeCloseTo((1048576 * b) / (1e12 * 0.5 * (n / (n + 10000))) * 1e3, 12);
    }
    expect(utilisation(device(), 5)).toBe(1); // no utilisation model: a CPU keeps the roofline
  });

  test('time grows sub-linearly with batch until the device is full, then linearly', () => {
    const p = gpu({ utilisation: { sms: 100, outputsPerSm: 10000 } });
    const t = (b: number) => conv(p, b).timeMs;
    // Small batches: far below b x t(1); large batches: twice the batch, about twice the time.
    expect(t(8)).toBeLessThan(3 * t(1));
    expect(t(4096) / t(2048)).toBeGreaterThan(1.95);
    expect(t(4096) / t(2048)).toBeLessThan(2.01);
  });

  test('no kernel is faster than minKernelMs; the launch gap is paid per launch', () => {
    const tiny = gpu({ overhead: { perLayerMs: 0.001, minKernelMs: 1 } });
    const c = conv(tiny, 1);
    expect(c.timeMs).toBeCloseTo(1 + 0.001, 12);
    expect(c.bound).toBe('overhead');
    expect(() => predictLayers(a.layers, gpu({ overhead: { perLayerMs: 0, minKernelMs: 0 } }))).not.toThrow();
  });

  test('a channelTile pads an RGB input conv to the tile (3 of 8 channels used)', () => {
    const rgb: LayerGraph = {
      name: 'rgb',
      outputs: ['c'],
      layers: [
        L('in', 'InputLayer', [], [], [64, 64, 3]),
        L('c', 'Conv2D', ['in'], [[64, 64, 3]], [64, 64, 64], { filters: 64, kernelSize: [3, 3], strides: [1, 1], useBias: false }),
      ],
    };
    const r = analyzeGraph(rgb);
    const u = (tile?: number) => predictLayers(r.layers, gpu({ utilisation: { sms: 10, outputsPerSm: 1000, ...(tile ? { channelTile: tile } : {}) } })).find((x) => x.name === 'c')!.utilisation;
    expect(u(8) / u()).toBeCloseTo(3 / 8, 12);
  });

  test('eager runtimes: the host issues kernels dispatchMs apart while the device works, per-layer times still sum up', () => {
    const r = analyzeReference('resnet18');
    const h200 = loadProfile('h200');
    const graphMs = sumMs(predictLayers(r.layers, h200, { runtime: 'pytorch-cudagraph', batch: 1 }));
    const eager = predictLayers(r.layers, h200, { runtime: 'pytorch-eager', batch: 1 });
    const d = h200.runtimes!['pytorch-eager'].overhead!.dispatchMs!;
    const launches = eager.filter((c) => c.bound !== 'fused' && c.bound !== 'free' && c.type !== 'InputLayer').length;
    // Batch 1 is host-bound: about one dispatch per kernel; a big batch is device-bound.
    expect(sumMs(eager)).toBeGreaterThan(launches * d);
    expect(sumMs(eager)).toBeLessThan(launches * d + graphMs);
    const big = (rt: string) => sumMs(predictLayers(r.layers, h200, { runtime: rt, batch: 128 }));
    expect(big('pytorch-eager') / big('pytorch-cudagraph')).toBeLessThan(1.05);
    // Without dispatch the device clock is the plain sum of kernels.
    const cg = predictLayers(r.layers, h200, { runtime: 'pytorch-cudagraph' });
    expect(cg.every((c) => c.overheadMs <= c.timeMs + 1e-12)).toBe(true);
  });

  test('pytorch runtimes run BN, ReLU, adds and in-layer activations as kernels of their own; tensorrt fuses them', () => {
    const v = analyzeReference('vgg16');
    const h200 = loadProfile('h200');
    const block = (rt: string) => predictLayers(v.layers, h200, { runtime: rt }).find((c) => c.name === 'block1_conv2')!;
    // The ReLU inside the conv costs a second launch and a read+write of its output in PyTorch.
    expect(block('pytorch-cudagraph').timeMs).toBeGreaterThan(block('tensorrt').timeMs + h200.overhead.perLayerMs);
    expect(hasInlineActivation(v.layers.find((l) => l.name === 'block1_conv2')!)).toBe(true);
    expect(hasInlineActivation(v.layers.find((l) => l.name === 'predictions')!)).toBe(false);
    const r = analyzeReference('resnet18');
    const bound = (rt: string) => predictLayers(r.layers, h200, { runtime: rt }).find((c) => c.name === 'layer1.0.bn1')!.bound;
    expect(bound('tensorrt')).toBe('fused');
    expect(bound('pytorch-cudagraph')).not.toBe('fused');
  });

  test('FP32 convs use TF32 tensor cores where the runtime does (Ampere and later), not on Turing', () => {
    const r = analyzeReference('resnet50');
    const layer = r.layers.find((l) => l.name === 'layer3.1.conv2')!;
    expect(layer.category).toBe('conv3x3');
    const expected = (spec: { peakGflops: number; efficiency: { conv3x3: number } }, u: number) =>
      ((layer.flops * 64) / (spec.peakGflops * 1e9 * spec.efficiency.conv3x3 * u)) * 1e3;
    const cost = (d: string) => predictLayers(r.layers, loadProfile(d), { precision: 'fp32', batch: 64 }).find((c) => c.name === layer.name)!;
    const a100 = cost('a100');
    expect(a100.computeMs).toBeCloseTo(expected(loadProfile('a100').compute.tf32!, a100.utilisation), 9);
    const t4 = cost('t4');
    expect(t4.computeMs).toBeCloseTo(expected(loadProfile('t4').compute.fp32!, t4.utilisation), 9);
  });

  test('a split point: head + tail cover the model and the curve equals splitTimes at every batch', () => {
    const r = analyzeReference('resnet18');
    const h200 = loadProfile('h200');
    const split = r.splitPoints[4];
    const curve = splitTimesCurve(r, h200, split, { maxBatch: 16, runtime: 'pytorch-eager' });
    expect(curve).toHaveLength(16);
    for (const b of [1, 7, 16]) expect(curve[b - 1]).toEqual(splitTimes(r, h200, split, { batch: b, runtime: 'pytorch-eager' }));
    const whole = splitTimes(r, h200, 'input', { batch: 4, runtime: 'pytorch-eager' }).tailMs;
    const s = splitTimes(r, h200, split, { batch: 4, runtime: 'pytorch-eager' });
    expect(s.headMs + s.tailMs).toBeGreaterThan(whole * 0.99);
    expect(() => splitTimes(r, h200, split, { runtime: 'nope' })).toThrow(/field 'runtimes'/);
  });

  test('the server GPUs: batch-1 time is mostly fixed cost, so batching gains far less than the batch', () => {
    const r = analyzeReference('resnet50');
    for (const d of ['t4', 'a100', 'h100', 'h200']) {
      const p = loadProfile(d);
      const t1 = predictModel(r, p, { batch: 1, precision: 'fp16' }).totalMs;
      const t64 = predictModel(r, p, { batch: 64, precision: 'fp16' }).totalMs;
      expect(`${d} ${t64 / t1 > 3 && t64 / t1 < 40}`).toBe(`${d} true`);
    }
  });
});
