/**
 * Per-layer analysis of a tfjs LayersModel: what each layer computes (MACs and other
 * arithmetic), how many parameters it holds, how much memory it moves, and which layers
 * are valid split points. Works either on a real model or on a weight-less layer graph
 * (see src/model/reference/builder.ts), so ImageNet-size networks can be analysed without
 * allocating their weights.
 *
 * Conventions (documented in README "Per-layer analysis"):
 * - `macs` counts multiply-accumulates of the layers whose arithmetic is a sum of products
 *   over a receptive field or a channel vector: convolutions (including depthwise,
 *   separable and transposed), dense layers and GDN/IGDN (the C×C channel mixing per
 *   pixel). This is the convention of published model counts (ResNet-50 4.09 GMACs).
 * - `elementOps` counts all other arithmetic, one per elementary operation: bias adds,
 *   activations, batch-norm scale and shift, merges, pooling, GDN's square/sqrt/divide.
 * - `flops = 2·macs + elementOps` is what the cost model divides by a device's FLOP/s.
 * - `params` are learnable parameters (the published convention: batch norm counts γ and
 *   β); `weightCount` is every stored weight value (adds batch-norm moving statistics),
 *   which is what inference reads from memory.
 */
import { tf } from './backend';
import { UserError } from '../util/errors';

/** Cost-model category of a layer; profiles give an efficiency per category. */
export type LayerCategory =
  | 'input'
  | 'conv'
  | 'conv3x3'
  | 'deconv'
  | 'depthwise'
  | 'dense'
  | 'gdn'
  | 'normalization'
  | 'elementwise'
  | 'pooling'
  | 'data'
  | 'view';

/** Categories that carry a compute efficiency in hardware profiles. */
export const COST_CATEGORIES = [
  'conv',
  'conv3x3',
  'deconv',
  'depthwise',
  'dense',
  'gdn',
  'normalization',
  'elementwise',
  'pooling',
  'data',
] as const;
export type CostCategory = (typeof COST_CATEGORIES)[number];

/** Bytes per tensor element at each supported precision. */
export const BYTES_PER_ELEMENT = { fp32: 4, fp16: 2, int8: 1 } as const;
export type Precision = keyof typeof BYTES_PER_ELEMENT;

/** One layer of a model as the analysis sees it: class, config and per-sample shapes. */
export interface GraphLayer {
  name: string;
  className: string;
  config: Record<string, unknown>;
  /** Per-sample input shapes (batch dimension removed), one per inbound tensor. */
  inputShapes: number[][];
  /** Per-sample output shape (batch dimension removed). */
  outputShape: number[];
  /** Names of the layers producing each inbound tensor (same order as inputShapes). */
  inbound: string[];
  /** Number of stored weight values when the layer has real weights (layer.countParams()). */
  weightCount?: number;
}

/** A model as a topologically ordered list of layers. */
export interface LayerGraph {
  name: string;
  layers: GraphLayer[];
  /** Names of the layers whose outputs are the model outputs. */
  outputs: string[];
}

/** The analysis of one layer (all counts per sample, i.e. for batch 1). */
export interface LayerAnalysis {
  name: string;
  /** tfjs class name, e.g. Conv2D, DepthwiseConv2D, BatchNormalization, GDN. */
  type: string;
  category: LayerCategory;
  inputShapes: number[][];
  outputShape: number[];
  inbound: string[];
  params: number;
  weightCount: number;
  macs: number;
  elementOps: number;
  flops: number;
  inputElements: number;
  outputElements: number;
  /** Activation bytes the layer reads (0 for views such as Flatten or Dropout). */
  bytesRead: number;
  /** Activation bytes the layer writes (0 for views). */
  bytesWritten: number;
  /** Size of the output tensor: what crosses the network if the model is split here. */
  outputBytes: number;
  /**
   * Kernel launches when the layer runs on its own (unfused): most layers are one kernel;
   * GDN/IGDN run square, 1x1 conv, add, sqrt and divide/multiply (plus the gamma transpose
   * and reshape in tfjs), the quantizer subtract, round and add, transposed and separable
   * convolutions a second kernel for the bias or the pointwise part.
   */
  launches: number;
  /** True when the class is unknown to the analysis and a generic estimate was used. */
  estimated: boolean;
}

/** The analysis of a whole model. */
export interface ModelAnalysis {
  name: string;
  inputShape: number[];
  precision: Precision;
  layers: LayerAnalysis[];
  totalMacs: number;
  totalFlops: number;
  totalParams: number;
  totalWeightCount: number;
  /** Candidate split points in network order (see findSplitPoints). */
  splitPoints: string[];
  outputs: string[];
}

const prod = (s: number[]): number => s.reduce((a, b) => a * b, 1);

function stripBatch(shape: unknown, what: string): number[] {
  if (!Array.isArray(shape)) throw new Error(`${what}: shape is not an array`);
  const rest = shape.slice(1);
  if (rest.some((d) => d === null || d === undefined || (typeof d === 'number' && d < 0))) {
    throw new UserError(
      `${what}: shape [${shape.map((d) => (d === null ? 'null' : d)).join(', ')}] has unknown dimensions; ` +
        'give a fixed input size (--input)',
    );
  }
  return rest as number[];
}

/** Extracts the layer graph (classes, configs, shapes, wiring) of a tfjs LayersModel. */
export function graphFromModel(model: tf.LayersModel, name = model.name): LayerGraph {
  // A Sequential builds its functional graph lazily; a functional view over the same layers
  // (no weights copied) gives the nodes either way.
  const own = (model as unknown as { containerNodes?: Set<string> }).containerNodes;
  const container = own && own.size > 0 ? model : tf.model({ inputs: model.inputs, outputs: model.outputs });
  const nodesKey = (container as unknown as { containerNodes: Set<string> }).containerNodes;
  const layers: GraphLayer[] = [];
  // Key of a produced tensor -> the graph name of its producer application.
  const producer = new Map<string, string>();
  const applied: Array<{ layer: tf.layers.Layer; nodeIndex: number; graphName: string }> = [];
  for (const layer of container.layers) {
    const nodes = layer.inboundNodes
      .map((node, i) => ({ node, i }))
      .filter(({ i }) => nodesKey.has(`${layer.name}_ib-${i}`));
    nodes.forEach(({ i }, k) => {
      const graphName = k === 0 ? layer.name : `${layer.name}#${k + 1}`;
      applied.push({ layer, nodeIndex: i, graphName });
      producer.set(`${layer.name}:${i}`, graphName);
    });
  }
  for (const { layer, nodeIndex, graphName } of applied) {
    const node = layer.inboundNodes[nodeIndex];
    const inbound = node.inboundLayers.map((l, j) => {
      const p = producer.get(`${l.name}:${node.nodeIndices[j]}`);
      if (!p) throw new Error(`layer ${graphName}: input from ${l.name} is outside the model`);
      return p;
    });
    const inShapes = (Array.isArray(node.inputShapes[0]) || node.inputShapes.length === 0
      ? node.inputShapes
      : [node.inputShapes]) as unknown[];
    const outShapes = (Array.isArray(node.outputShapes[0]) ? node.outputShapes : [node.outputShapes]) as unknown[];
    const isInput = layer.getClassName() === 'InputLayer';
    layers.push({
      name: graphName,
      className: layer.getClassName(),
      config: layer.getConfig() as Record<string, unknown>,
      inputShapes: isInput ? [] : inShapes.map((s) => stripBatch(s, `layer ${graphName} input`)),
      outputShape: stripBatch(outShapes[0], `layer ${graphName} output`),
      inbound: isInput ? [] : inbound,
      weightCount: layer.countParams(),
    });
  }
  const outputs = container.outputLayers.map((l, i) => {
    const p = producer.get(`${l.name}:${container.outputLayersNodeIndices[i]}`);
    return p ?? l.name;
  });
  return { name, layers: topoSort(layers), outputs };
}

/** Orders layers so that every layer follows its producers (stable for already ordered input). */
function topoSort(layers: GraphLayer[]): GraphLayer[] {
  const byName = new Map(layers.map((l) => [l.name, l]));
  const done = new Set<string>();
  const out: GraphLayer[] = [];
  const visit = (l: GraphLayer, stack: Set<string>): void => {
    if (done.has(l.name)) return;
    if (stack.has(l.name)) throw new Error(`cycle in layer graph at ${l.name}`);
    stack.add(l.name);
    for (const p of l.inbound) {
      const pl = byName.get(p);
      if (pl) visit(pl, stack);
    }
    stack.delete(l.name);
    done.add(l.name);
    out.push(l);
  };
  for (const l of layers) visit(l, new Set());
  return out;
}

const ACTIVATION_OPS: Record<string, number> = {
  linear: 0,
  relu: 1,
  relu6: 2, // max(0, x) then min(6, x)
  thresholdedrelu: 1,
  leakyrelu: 2,
  prelu: 2,
  hardsigmoid: 2,
  elu: 3,
  selu: 3,
  softsign: 3,
  sigmoid: 4,
  tanh: 4,
  softplus: 4,
  swish: 5,
  softmax: 5,
  logsoftmax: 6,
  mish: 6,
  gelu: 8,
  gelu_new: 8,
};

function activationOps(act: unknown): number {
  if (act === undefined || act === null) return 0;
  const key = String(typeof act === 'object' ? (act as { className?: string }).className : act).toLowerCase();
  return ACTIVATION_OPS[key] ?? 4;
}

const pair = (v: unknown, fallback: number): [number, number] => {
  if (Array.isArray(v)) return [Number(v[0]), Number(v[v.length > 1 ? 1 : 0])];
  if (typeof v === 'number') return [v, v];
  return [fallback, fallback];
};

function channelAxis(config: Record<string, unknown>, rank: number): number {
  return config.dataFormat === 'channelsFirst' ? 0 : rank - 1;
}

const VIEW_CLASSES = new Set([
  'Flatten',
  'Reshape',
  'Dropout',
  'SpatialDropout1D',
  'SpatialDropout2D',
  'GaussianNoise',
  'GaussianDropout',
  'AlphaDropout',
  'Masking',
]);
const DATA_CLASSES = new Set([
  'ZeroPadding2D',
  'Cropping2D',
  'Concatenate',
  'UpSampling2D',
  'Permute',
  'RepeatVector',
  'CenterCrop',
]);
const MERGE_CLASSES = new Set(['Add', 'Subtract', 'Multiply', 'Average', 'Maximum', 'Minimum']);
const ACTIVATION_CLASSES: Record<string, string> = {
  ReLU: 'relu',
  LeakyReLU: 'leakyrelu',
  PReLU: 'prelu',
  ELU: 'elu',
  ThresholdedReLU: 'thresholdedrelu',
  Softmax: 'softmax',
};

/** What a layer computes and holds, per sample (layerCounts). */
export interface Counts {
  category: LayerCategory;
  macs: number;
  elementOps: number;
  params: number;
  weightCount: number;
  estimated?: boolean;
  /** Kernel launches, where the class's usual number does not apply. */
  launches?: number;
}

/**
 * 3×3, stride-1, undilated, ungrouped 2-D convolutions: the shape for which GPU libraries
 * (cuDNN, TensorRT) pick Winograd kernels, so they reach a different fraction of peak than
 * 1×1, strided or large-kernel convolutions. Profiles give them their own efficiency.
 */
function isWinogradEligible(className: string, ks: unknown[], c: Record<string, unknown>, groups: number): boolean {
  if (className !== 'Conv2D' || groups !== 1) return false;
  const [kh, kw] = ks.map(Number);
  const [sh, sw] = pair(c.strides, 1);
  const [dh, dw] = pair(c.dilationRate, 1);
  return kh === 3 && kw === 3 && sh === 1 && sw === 1 && dh === 1 && dw === 1;
}

/** The per-layer formulas (per sample). */
export function layerCounts(layer: GraphLayer): Counts {
  const c = layer.config;
  const inShape = layer.inputShapes[0] ?? [];
  const out = layer.outputShape;
  const outN = prod(out);
  const bias = c.useBias === false ? 0 : 1;
  const actOps = activationOps(c.activation) * outN;
  const same = (params: number, rest: Omit<Counts, 'params' | 'weightCount'>): Counts => ({
    ...rest,
    params,
    weightCount: params,
  });
  switch (layer.className) {
    case 'InputLayer':
      return same(0, { category: 'input', macs: 0, elementOps: 0 });
    case 'Conv1D':
    case 'Conv2D':
    case 'Conv3D': {
      const rank = inShape.length;
      const cin = inShape[channelAxis(c, rank)];
      const cout = Number(c.filters);
      const groups = Number(c.groups ?? 1);
      const ks = Array.isArray(c.kernelSize) ? (c.kernelSize as number[]) : Array(rank - 1).fill(c.kernelSize);
      const kProd = prod(ks.map(Number));
      const macs = outN * (cin / groups) * kProd;
      return same(kProd * (cin / groups) * cout + bias * cout, {
        category: isWinogradEligible(layer.className, ks, c, groups) ? 'conv3x3' : 'conv',
        macs,
        elementOps: bias * outN + actOps,
      });
    }
    case 'Conv2DTranspose': {
      const cin = inShape[channelAxis(c, inShape.length)];
      const cout = Number(c.filters);
      const [kh, kw] = pair(c.kernelSize, 1);
      const inPixels = prod(inShape) / cin;
      // Every input pixel scatters a kh×kw×cout patch.
      return same(kh * kw * cin * cout + bias * cout, {
        category: 'deconv',
        macs: inPixels * cin * cout * kh * kw,
        elementOps: bias * outN + actOps,
      });
    }
    case 'DepthwiseConv2D': {
      const cin = inShape[channelAxis(c, inShape.length)];
      const dm = Number(c.depthMultiplier ?? 1);
      const [kh, kw] = pair(c.kernelSize, 1);
      return same(kh * kw * cin * dm + bias * cin * dm, {
        category: 'depthwise',
        macs: outN * kh * kw,
        elementOps: bias * outN + actOps,
      });
    }
    case 'SeparableConv2D': {
      const cin = inShape[channelAxis(c, inShape.length)];
      const dm = Number(c.depthMultiplier ?? 1);
      const cout = Number(c.filters);
      const [kh, kw] = pair(c.kernelSize, 1);
      const pixels = outN / cout;
      return same(kh * kw * cin * dm + cin * dm * cout + bias * cout, {
        category: 'conv',
        macs: pixels * cin * dm * (kh * kw + cout),
        elementOps: bias * outN + actOps,
      });
    }
    case 'Dense': {
      const cin = inShape[inShape.length - 1];
      const units = Number(c.units);
      const rows = prod(inShape) / cin;
      return same(cin * units + bias * units, {
        category: 'dense',
        macs: rows * cin * units,
        elementOps: bias * outN + actOps,
      });
    }
    case 'GDN':
    case 'IGDN': {
      const ch = inShape[inShape.length - 1];
      const pixels = prod(inShape) / ch;
      // Per pixel: square (C), C×C mixing (MACs), add beta (C), sqrt (C), divide/multiply (C).
      return same(ch + ch * ch, { category: 'gdn', macs: pixels * ch * ch, elementOps: pixels * ch * 4 });
    }
    case 'BatchNormalization': {
      const axis = Number(c.axis ?? -1);
      const ch = inShape[axis < 0 ? inShape.length + axis : axis - 1];
      const learn = (c.scale === false ? 0 : ch) + (c.center === false ? 0 : ch);
      // Inference applies a per-channel scale and shift: 2 operations per element.
      return { category: 'normalization', macs: 0, elementOps: 2 * outN, params: learn, weightCount: learn + 2 * ch };
    }
    case 'LayerNormalization': {
      const ch = inShape[inShape.length - 1];
      const learn = (c.scale === false ? 0 : ch) + (c.center === false ? 0 : ch);
      // Mean, centre, square, variance, normalise, scale, shift.
      return same(learn, { category: 'normalization', macs: 0, elementOps: 7 * outN });
    }
    case 'Activation':
      return same(0, { category: 'elementwise', macs: 0, elementOps: activationOps(c.activation) * outN });
    case 'Rescaling':
      return same(0, { category: 'elementwise', macs: 0, elementOps: 2 * outN });
    case 'LatentQuantizer': {
      const ch = inShape[inShape.length - 1];
      // Subtract the median, round, add it back.
      return same(ch, { category: 'elementwise', macs: 0, elementOps: 3 * outN });
    }
    case 'MaxPooling1D':
    case 'MaxPooling2D':
    case 'MaxPooling3D':
    case 'AveragePooling1D':
    case 'AveragePooling2D':
    case 'AveragePooling3D': {
      const ps = Array.isArray(c.poolSize) ? (c.poolSize as number[]) : [Number(c.poolSize)];
      return same(0, { category: 'pooling', macs: 0, elementOps: outN * prod(ps.map(Number)) });
    }
    case 'GlobalAveragePooling1D':
    case 'GlobalAveragePooling2D':
    case 'GlobalMaxPooling1D':
    case 'GlobalMaxPooling2D':
      return same(0, { category: 'pooling', macs: 0, elementOps: prod(inShape) });
    default:
      break;
  }
  if (MERGE_CLASSES.has(layer.className)) {
    const k = layer.inputShapes.length;
    const ops = layer.className === 'Average' ? k * outN : (k - 1) * outN;
    return same(0, { category: 'elementwise', macs: 0, elementOps: ops });
  }
  if (layer.className in ACTIVATION_CLASSES) {
    const key = layer.className === 'ReLU' && c.maxValue !== undefined && c.maxValue !== null ? 'relu6' : ACTIVATION_CLASSES[layer.className];
    const params = layer.className === 'PReLU' ? (layer.weightCount ?? 0) : 0;
    return same(params, { category: 'elementwise', macs: 0, elementOps: (ACTIVATION_OPS[key] ?? 1) * outN });
  }
  if (VIEW_CLASSES.has(layer.className)) return same(0, { category: 'view', macs: 0, elementOps: 0 });
  if (DATA_CLASSES.has(layer.className)) {
    const ops = layer.className === 'UpSampling2D' && c.interpolation === 'bilinear' ? 4 * outN : 0;
    return same(0, { category: 'data', macs: 0, elementOps: ops });
  }
  // Unknown (e.g. a custom layer): one operation per output element; weights as stored.
  const w = layer.weightCount ?? 0;
  return { category: 'elementwise', macs: 0, elementOps: outN, params: w, weightCount: w, estimated: true };
}

/** Analyses one layer at a precision (bytes per element). */
export function analyzeLayer(layer: GraphLayer, precision: Precision = 'fp32'): LayerAnalysis {
  return layerAnalysisOf(layer, layerCounts(layer), precision);
}

/** The analysis of a layer from its counts (layerCounts, or another graph format's). */
export function layerAnalysisOf(layer: GraphLayer, k: Counts, precision: Precision = 'fp32'): LayerAnalysis {
  const bpe = BYTES_PER_ELEMENT[precision];
  // Real weights are the ground truth for stored values (e.g. custom layers' extra weights).
  const weightCount = layer.weightCount ?? k.weightCount;
  const inputElements = layer.inputShapes.reduce((a, s) => a + prod(s), 0);
  const outputElements = prod(layer.outputShape);
  const moves = k.category !== 'view' && k.category !== 'input';
  return {
    name: layer.name,
    type: layer.className,
    category: k.category,
    inputShapes: layer.inputShapes,
    outputShape: layer.outputShape,
    inbound: layer.inbound,
    params: k.params,
    weightCount,
    macs: k.macs,
    elementOps: k.elementOps,
    flops: 2 * k.macs + k.elementOps,
    inputElements,
    outputElements,
    bytesRead: moves ? inputElements * bpe : 0,
    bytesWritten: moves ? outputElements * bpe : 0,
    outputBytes: outputElements * bpe,
    launches: k.launches ?? LAUNCHES[layer.className] ?? 1,
    estimated: k.estimated ?? false,
  };
}

const LAUNCHES: Record<string, number> = { GDN: 7, IGDN: 7, LatentQuantizer: 3, Conv2DTranspose: 2, SeparableConv2D: 2 };

/**
 * Candidate split points: layer L qualifies when the head (L and all its ancestors) hands
 * exactly one tensor, L's output, to the rest of the network. A layer inside a residual
 * block does not qualify because the block input also crosses (the skip connection).
 * Input layers and the final output layer are not listed (they mean "all on the server"
 * and "all on the device").
 */
export function findSplitPoints(graph: LayerGraph): string[] {
  const byName = new Map(graph.layers.map((l) => [l.name, l]));
  const consumers = new Map<string, string[]>();
  for (const l of graph.layers) {
    for (const p of l.inbound) {
      const list = consumers.get(p) ?? [];
      list.push(l.name);
      consumers.set(p, list);
    }
  }
  const outputs = new Set(graph.outputs);
  // Ancestor sets as bitsets over the topological index.
  const index = new Map(graph.layers.map((l, i) => [l.name, i]));
  const n = graph.layers.length;
  const words = Math.ceil(n / 32);
  const anc: Uint32Array[] = [];
  graph.layers.forEach((l, i) => {
    const set = new Uint32Array(words);
    set[i >> 5] |= 1 << (i & 31);
    for (const p of l.inbound) {
      const pi = index.get(p);
      if (pi === undefined) continue;
      const ps = anc[pi];
      for (let w = 0; w < words; w++) set[w] |= ps[w];
    }
    anc.push(set);
  });
  const has = (set: Uint32Array, i: number): boolean => (set[i >> 5] & (1 << (i & 31))) !== 0;
  const result: string[] = [];
  graph.layers.forEach((l, i) => {
    if (l.className === 'InputLayer' || outputs.has(l.name)) return;
    const head = anc[i];
    for (let j = 0; j < n; j++) {
      if (!has(head, j) || j === i) continue;
      const name = graph.layers[j].name;
      if (outputs.has(name)) return;
      for (const cons of consumers.get(name) ?? []) {
        const ci = index.get(cons)!;
        if (!has(head, ci)) return; // another tensor crosses the cut
      }
    }
    // Every layer outside the head must be reachable only through L (no other input).
    for (let j = 0; j < n; j++) {
      if (has(head, j)) continue;
      const lj = byName.get(graph.layers[j].name)!;
      if (lj.className === 'InputLayer') return;
    }
    result.push(l.name);
  });
  return result;
}

/** Analyses every layer of a graph and finds its split points. */
export function analyzeGraph(graph: LayerGraph, precision: Precision = 'fp32'): ModelAnalysis {
  const layers = graph.layers.map((l) => analyzeLayer(l, precision));
  const input = graph.layers.find((l) => l.className === 'InputLayer');
  return {
    name: graph.name,
    inputShape: input ? input.outputShape : layers[0]?.inputShapes[0] ?? [],
    precision,
    layers,
    totalMacs: layers.reduce((a, l) => a + l.macs, 0),
    totalFlops: layers.reduce((a, l) => a + l.flops, 0),
    totalParams: layers.reduce((a, l) => a + l.params, 0),
    totalWeightCount: layers.reduce((a, l) => a + l.weightCount, 0),
    splitPoints: findSplitPoints(graph),
    outputs: graph.outputs,
  };
}

/** Analyses a tfjs LayersModel (shapes must be fixed apart from the batch dimension). */
export function analyzeModel(model: tf.LayersModel, precision: Precision = 'fp32', name?: string): ModelAnalysis {
  return analyzeGraph(graphFromModel(model, name), precision);
}
