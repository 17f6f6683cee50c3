import { analyzeGraph, analyzeModel, findSplitPoints, graphFromModel } from '../../src/model/analysis';
import { initBackend, tf } from '../../src/model/backend';
import { GDN } from '../../src/model/layers';

beforeAll(async () => {
  await initBackend();
});

/** A small chain whose counts are worked out by hand below. */
function tinyChain(): tf.LayersModel {
  const x = tf.input({ shape: [8, 8, 3], name: 'in' });
  let y = tf.layers.conv2d({ name: 'c1', filters: 4, kernelSize: 3, padding: 'same', useBias: true }).apply(x) as tf.SymbolicTensor;
  y = tf.layers.conv2d({ name: 'c2', filters: 6, kernelSize: 1, strides: 2, useBias: false }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.batchNormalization({ name: 'bn' }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.reLU({ name: 'r' }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.depthwiseConv2d({ name: 'dw', kernelSize: 3, depthMultiplier: 2, padding: 'same', useBias: true }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.maxPooling2d({ name: 'mp', poolSize: 2, strides: 2 }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.flatten({ name: 'fl' }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.dense({ name: 'fc', units: 5 }).apply(y) as tf.SymbolicTensor;
  return tf.model({ inputs: x, outputs: y });
}

describe('per-layer formulas on a hand-computed chain', () => {
  let model: tf.LayersModel;
  let a: ReturnType<typeof analyzeModel>;
  let by: Map<string, ReturnType<typeof analyzeModel>['layers'][number]>;
  beforeAll(() => {
    model = tinyChain();
    a = analyzeModel(model, 'fp32');
    by = new Map(a.layers.map((l) => [l.name, l]));
  });
  afterAll(() => model.dispose());

  test('convolution: Hout*Wout*Cout*(Cin/groups)*Kh*Kw MACs, kernel+bias params', () => {
    // 3x3 same conv, 8x8x3 -> 8x8x4: 8*8*4*3*9 MACs; 3*3*3*4 + 4 params.
    expect(by.get('c1')).toMatchObject({ macs: 6912, params: 112, category: 'conv3x3', outputShape: [8, 8, 4] });
    // 1x1 stride-2 conv without bias, 8x8x4 -> 4x4x6: 4*4*6*4 MACs, 24 params; not Winograd-eligible.
    expect(by.get('c2')).toMatchObject({ macs: 384, params: 24, category: 'conv', outputShape: [4, 4, 6] });
    expect(by.get('c1')!.elementOps).toBe(8 * 8 * 4); // the bias add
  });

  test('batch norm: 2C learnable parameters, 4C stored weights, scale+shift per element', () => {
    expect(by.get('bn')).toMatchObject({ macs: 0, params: 12, weightCount: 24, elementOps: 2 * 96, category: 'normalization' });
    expect(by.get('r')).toMatchObject({ macs: 0, params: 0, elementOps: 96, category: 'elementwise' });
  });

  test('depthwise: one Kh*Kw window per output element; pooling: one op per window element', () => {
    // 4x4x6 with depth multiplier 2 -> 4x4x12: 4*4*12*9 MACs; 3*3*6*2 + 12 params.
    expect(by.get('dw')).toMatchObject({ macs: 1728, params: 120, category: 'depthwise', outputShape: [4, 4, 12] });
    expect(by.get('mp')).toMatchObject({ macs: 0, elementOps: 2 * 2 * 12 * 4, category: 'pooling' });
  });

  test('dense: inputs x units MACs; flatten is a free view', () => {
    expect(by.get('fc')).toMatchObject({ macs: 48 * 5, params: 48 * 5 + 5, category: 'dense' });
    expect(by.get('fl')).toMatchObject({ category: 'view', bytesRead: 0, bytesWritten: 0, outputBytes: 48 * 4 });
  });

  test('totals, and stored weights agree with tfjs countParams()', () => {
    expect(a.totalMacs).toBe(6912 + 384 + 1728 + 240);
    expect(a.totalParams).toBe(112 + 24 + 12 + 120 + 245);
    expect(a.totalWeightCount).toBe(model.countParams());
    for (const layer of model.layers) expect(by.get(layer.name)!.weightCount).toBe(layer.countParams());
    expect(a.totalFlops).toBe(a.layers.reduce((s, l) => s + 2 * l.macs + l.elementOps, 0));
  });

  test('bytes scale with the precision', () => {
    const half = analyzeModel(model, 'fp16');
    const c1 = by.get('c1')!;
    const c1h = half.layers.find((l) => l.name === 'c1')!;
    expect(c1.bytesRead).toBe(8 * 8 * 3 * 4);
    expect(c1.bytesWritten).toBe(8 * 8 * 4 * 4);
    expect(c1h.bytesRead).toBe(c1.bytesRead / 2);
    expect(c1h.outputBytes).toBe(8 * 8 * 4 * 2);
  });

  test('the formula parameter count matches weights for every class (graph without weights)', () => {
    const g = graphFromModel(model);
    const noWeights = { ...g, layers: g.layers.map(({ weightCount: _w, ...rest }) => rest) };
    const b = analyzeGraph(noWeights);
    b.layers.forEach((l, i) => expect(l.weightCount).toBe(a.layers[i].weightCount));
  });
});

describe('other layer classes', () => {
  test('GDN: C x C channel mixing per pixel', () => {
    const x = tf.input({ shape: [5, 5, 4] });
    const y = new GDN({ channels: 4, name: 'gdn' }).apply(x) as tf.SymbolicTensor;
    const m = tf.model({ inputs: x, outputs: y });
    const g = analyzeModel(m).layers.find((l) => l.name === 'gdn')!;
    expect(g).toMatchObject({ category: 'gdn', macs: 25 * 4 * 4, params: 4 + 16, weightCount: 20, elementOps: 25 * 4 * 4 });
    m.dispose();
  });

  test('separable and transposed convolutions, merges', () => {
    const x = tf.input({ shape: [6, 6, 4] });
    const s = tf.layers.separableConv2d({ name: 'sep', filters: 8, kernelSize: 3, padding: 'same' }).apply(x) as tf.SymbolicTensor;
    const t = tf.layers.conv2dTranspose({ name: 'tr', filters: 2, kernelSize: 2, strides: 2 }).apply(s) as tf.SymbolicTensor;
    const u = tf.layers.conv2dTranspose({ name: 'tr2', filters: 2, kernelSize: 2, strides: 2 }).apply(s) as tf.SymbolicTensor;
    const add = tf.layers.add({ name: 'sum' }).apply([t, u]) as tf.SymbolicTensor;
    const m = tf.model({ inputs: x, outputs: add });
    const by = new Map(analyzeModel(m).layers.map((l) => [l.name, l]));
    // depthwise 3x3 on 6x6x4 (36*4*9) + pointwise 4->8 (36*4*8); params 9*4 + 4*8 + 8.
    expect(by.get('sep')).toMatchObject({ macs: 36 * 4 * (9 + 8), params: 76 });
    // every one of 6x6 input pixels scatters 8 channels into a 2x2x2 patch.
    expect(by.get('tr')).toMatchObject({ macs: 36 * 8 * 2 * 4, params: 2 * 2 * 8 * 2 + 2, outputShape: [12, 12, 2], category: 'deconv', launches: 2 });
    expect(by.get('sum')).toMatchObject({ elementOps: 12 * 12 * 2, category: 'elementwise' });
    for (const layer of m.layers) expect(by.get(layer.name)!.weightCount).toBe(layer.countParams());
    m.dispose();
  });
});

test('a Sequential model is analysed like the functional one', () => {
  const m = tf.sequential({ layers: [tf.layers.dense({ name: 'sd1', units: 4, inputShape: [3] }), tf.layers.dense({ name: 'sd2', units: 2 })] });
  const a = analyzeModel(m);
  expect(a.layers.map((l) => l.type)).toEqual(['InputLayer', 'Dense', 'Dense']);
  expect(a.totalMacs).toBe(3 * 4 + 4 * 2);
  expect(a.splitPoints).toEqual(['sd1']);
  m.dispose();
});

describe('split points', () => {
  test('a skip connection removes the layers it jumps over', () => {
    const x = tf.input({ shape: [4, 4, 2], name: 'x' });
    const a = tf.layers.conv2d({ name: 'a', filters: 2, kernelSize: 1 }).apply(x) as tf.SymbolicTensor;
    const ar = tf.layers.reLU({ name: 'a_r' }).apply(a) as tf.SymbolicTensor;
    const b = tf.layers.conv2d({ name: 'b', filters: 2, kernelSize: 3, padding: 'same' }).apply(ar) as tf.SymbolicTensor;
    const br = tf.layers.reLU({ name: 'b_r' }).apply(b) as tf.SymbolicTensor;
    const add = tf.layers.add({ name: 'add' }).apply([ar, br]) as tf.SymbolicTensor;
    const out = tf.layers.reLU({ name: 'out' }).apply(add) as tf.SymbolicTensor;
    const c = tf.layers.conv2d({ name: 'c', filters: 3, kernelSize: 1 }).apply(out) as tf.SymbolicTensor;
    const m = tf.model({ inputs: x, outputs: c });
    // b and b_r are inside the block (a_r also crosses to the add); the input and the final
    // output are not listed.
    expect(findSplitPoints(graphFromModel(m))).toEqual(['a', 'a_r', 'add', 'out']);
    m.dispose();
  });

  test('a second model input keeps earlier layers from being split points', () => {
    const x = tf.input({ shape: [3], name: 'x' });
    const y = tf.input({ shape: [3], name: 'y' });
    const d = tf.layers.dense({ name: 'd', units: 3 }).apply(x) as tf.SymbolicTensor;
    const s = tf.layers.add({ name: 's' }).apply([d, y]) as tf.SymbolicTensor;
    const e = tf.layers.dense({ name: 'e', units: 2 }).apply(s) as tf.SymbolicTensor;
    const f = tf.layers.dense({ name: 'f', units: 2 }).apply(e) as tf.SymbolicTensor;
    const m = tf.model({ inputs: [x, y], outputs: f });
    expect(findSplitPoints(graphFromModel(m))).toEqual(['s', 'e']);
    m.dispose();
  });
});
