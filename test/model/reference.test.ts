import { analyzeModel } from '../../src/model/analysis';
import { initBackend } from '../../src/model/backend';
import { analyzeReference, buildReferenceModel, REFERENCE_MODELS, referenceGraph } from '../../src/model/reference';

const within = (value: number, target: number, tol: number): void => {
  expect(Math.abs(value / target - 1)).toBeLessThanOrEqual(tol);
};

describe('reference networks at 224x224 match the published totals', () => {
  test.each(['resnet18', 'resnet50', 'mobilenetv2', 'vgg16'])('%s within 1 %% of published params and MACs', (name) => {
    const a = analyzeReference(name, 224);
    const p = REFERENCE_MODELS[name].published;
    within(a.totalParams, p.params, 0.01);
    within(a.totalMacs, p.macs, 0.01);
  });

  test('exact torchvision parameter counts (a wrong block layout would change them)', () => {
    expect(analyzeReference('resnet18').totalParams).toBe(11689512);
    expect(analyzeReference('resnet50').totalParams).toBe(25557032);
    expect(analyzeReference('mobilenetv2').totalParams).toBe(3504872);
    expect(analyzeReference('vgg16').totalParams).toBe(138357544);
    expect(analyzeReference('efficientnet-b0').totalParams).toBe(5288548);
  });

  test('EfficientNet-B0 within the rounding of its published 0.39 GMACs', () => {
    const a = analyzeReference('efficientnet-b0');
    expect(Math.abs(a.totalMacs - 0.39e9)).toBeLessThanOrEqual(0.005e9);
  });

  test('MACs scale with the input area (ResNet-50 at 256x256)', () => {
    const a = analyzeReference('resnet50', 256);
    // Every spatial size grows by 256/224 except the classifier; within 1 % of the area ratio.
    within(a.totalMacs, 4.09e9 * (256 / 224) ** 2, 0.01);
    expect(a.layers.find((l) => l.name === 'layer4.2.relu')!.outputShape).toEqual([8, 8, 2048]);
  });

  test('VGG-16 is analysed without allocating its 138 M weights', () => {
    const before = process.memoryUsage().rss;
    const g = referenceGraph('vgg16', 224);
    expect(g.layers.every((l) => l.weightCount === undefined)).toBe(true);
    expect(process.memoryUsage().rss - before).toBeLessThan(100e6);
  });
});

describe('ResNet split points', () => {
  test('layers inside residual blocks are not candidates; block outputs are', () => {
    const a = analyzeReference('resnet50');
    const splits = new Set(a.splitPoints);
    expect(splits.has('layer1.0.relu')).toBe(true);
    expect(splits.has('layer3.5.relu')).toBe(true);
    expect(splits.has('maxpool')).toBe(true);
    for (const inner of ['layer1.0.conv1', 'layer1.0.bn2', 'layer2.1.relu1', 'layer3.0.downsample.0', 'layer4.2.conv3', 'layer4.2.bn3']) {
      expect(splits.has(inner)).toBe(false);
    }
    // Nothing inside any block: every candidate after the stem is a block's add or output.
    for (const s of a.splitPoints.filter((n) => n.startsWith('layer'))) expect(s).toMatch(/\.(add|relu)$/);
    expect(a.splitPoints).not.toContain('fc');
    expect(a.splitPoints).not.toContain('input');
  });
});

describe('the weight-free graph equals the graph of the built model', () => {
  beforeAll(async () => {
    await initBackend();
  });
  test.each(['resnet18', 'mobilenetv2', 'efficientnet-b0'])('%s at 64x64', (name) => {
    const model = buildReferenceModel(name, 64);
    try {
      const real = analyzeModel(model);
      const free = analyzeReference(name, 64);
      const byName = new Map(free.layers.map((l) => [l.name, l]));
      expect(real.layers.length).toBe(free.layers.length);
      for (const l of real.layers) {
        const f = byName.get(l.name)!;
        expect({ shape: f.outputShape, macs: f.macs, params: f.params, weights: f.weightCount, inbound: f.inbound }).toEqual({
          shape: l.outputShape,
          macs: l.macs,
          params: l.params,
          weights: l.weightCount,
          inbound: l.inbound,
        });
      }
      expect(new Set(real.splitPoints)).toEqual(new Set(free.splitPoints));
      expect(real.totalWeightCount).toBe(model.countParams());
    } finally {
      model.dispose();
    }
  });
});
