/**
 * Per-node analysis of an ONNX graph for the hardware cost model, in the terms of the tfjs
 * layer analysis (analysis.ts): each node that depends on the input is one layer, named by the
 * tensor it outputs, with the class of the equivalent tfjs layer (Conv → Conv2D or
 * DepthwiseConv2D, ConvTranspose → Conv2DTranspose, Gemm/MatMul → Dense, pooling, Resize →
 * UpSampling2D, Concat → Concatenate, ...) and channel-last shapes, so the same formulas,
 * categories and fusion rules apply. Elementwise operators count one operation per output
 * element and input beyond the first; an operator not known here is reported by name and
 * counted as elementwise. GDN and IGDN, exported as Mul, 1x1 Conv, Sqrt and Div/Mul, are
 * analysed as those parts (the same MACs and operations).
 */
import * as path from 'path';
import { layerAnalysisOf, layerCounts, type Counts, type GraphLayer, type LayerAnalysis, type ModelAnalysis, type Precision } from './analysis';
import { candidateSplitPoints, type DerivedMeta } from './derive';
import { channelLast, floatCuts, outputClasses, probeTensors, type OnnxFile } from './onnx';
import { nodeInputs } from './onnx-graph';
import { attr, attrInts, attrString, int, type OnnxNode } from './onnx-proto';

const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** Unary activations: the tfjs activation name whose operation count applies. */
const ACTIVATIONS: Record<string, string> = {
  Relu: 'relu', LeakyRelu: 'leakyrelu', PRelu: 'prelu', Elu: 'elu', Selu: 'selu', Sigmoid: 'sigmoid', Tanh: 'tanh',
  Softplus: 'softplus', Softsign: 'softsign', HardSigmoid: 'hardsigmoid', HardSwish: 'swish', Clip: 'relu6',
  Gelu: 'gelu', Softmax: 'softmax', LogSoftmax: 'logsoftmax', Mish: 'mish', ThresholdedRelu: 'thresholdedrelu',
};
/** One operation per output element and input beyond the first. */
const ELEMENTWISE = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean', 'Where', 'Equal', 'Less', 'Greater',
  'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Xor', 'Not', 'Mod', 'BitShift']);
/** One operation per output element. */
const UNARY = new Set(['Sqrt', 'Reciprocal', 'Neg', 'Abs', 'Exp', 'Log', 'Round', 'Floor', 'Ceil', 'Sign', 'Erf', 'Sin', 'Cos',
  'IsNaN', 'IsInf', 'QuantizeLinear', 'DequantizeLinear']);
const MERGE_TYPES: Record<string, string> = { Add: 'Add', Sub: 'Subtract', Mul: 'Multiply', Max: 'Maximum', Min: 'Minimum', Mean: 'Average', Sum: 'Add' };
/** Operators that only view or reshape a tensor (no arithmetic, no copy). */
const VIEWS = new Set(['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Identity', 'Dropout', 'Shape', 'Size', 'Cast', 'CastLike']);
/** Operators that move data without arithmetic. */
const DATA = new Set(['Concat', 'Pad', 'Transpose', 'Slice', 'Gather', 'GatherElements', 'GatherND', 'Split', 'Tile', 'Expand',
  'DepthToSpace', 'SpaceToDepth', 'Resize', 'Upsample', 'ConstantOfShape', 'ScatterND', 'ScatterElements', 'Range', 'NonZero']);
const REDUCE = new Set(['ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceSum', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSumExp', 'ReduceSumSquare', 'GlobalAveragePool', 'GlobalMaxPool', 'GlobalLpPool', 'ArgMax', 'ArgMin']);

/** Dimensions of a weight: an initializer or a Constant node's tensor. */
function constDims(f: OnnxFile, name: string): number[] | undefined {
  const init = f.model.graph!.initializer.find((t) => t.name === name);
  if (init) return init.dims.map(int);
  const p = f.index.producer.get(name);
  if (p === undefined || f.index.live[p]) return undefined;
  const t = attr(f.index.nodes[p], 'value')?.t;
  return t ? t.dims.map(int) : undefined;
}

/** Counts of one node, with the tfjs class it is analysed as; undefined class: unknown operator. */
function nodeCounts(f: OnnxFile, node: OnnxNode, g: GraphLayer): { className: string; counts: Counts; known: boolean } {
  const op = node.opType;
  const outN = prod(g.outputShape);
  const nIn = node.input.filter((x) => x).length;
  const c = (className: string, config: Record<string, unknown>) => {
    const gl = { ...g, className, config };
    return { className, counts: layerCounts(gl), known: true };
  };
  const own = (className: string, counts: Counts) => ({ className, counts, known: true });
  const weightCount = node.input.slice(1).reduce((a, t) => a + prod(constDims(f, t) ?? [0]), 0);
  switch (op) {
    case 'Conv': {
      const w = constDims(f, node.input[1]);
      const cin = g.inputShapes[0]?.[g.inputShapes[0].length - 1] ?? 0;
      const group = attrInts(node, 'group', [1])[0];
      const kernel = attrInts(node, 'kernel_shape', w ? w.slice(2) : []);
      const filters = w ? w[0] : g.outputShape[g.outputShape.length - 1];
      const conf = { kernelSize: kernel, strides: attrInts(node, 'strides', kernel.map(() => 1)), dilationRate: attrInts(node, 'dilations', kernel.map(() => 1)), useBias: nIn > 2 };
      if (group > 1 && group === cin && filters % cin === 0 && kernel.length === 2) return c('DepthwiseConv2D', { ...conf, depthMultiplier: filters / cin });
      return c(`Conv${kernel.length || 2}D`, { ...conf, filters, groups: group });
    }
    case 'ConvTranspose': {
      const w = constDims(f, node.input[1]);
      const group = attrInts(node, 'group', [1])[0];
      const filters = w ? w[1] * group : g.outputShape[g.outputShape.length - 1];
      return c('Conv2DTranspose', { filters, kernelSize: attrInts(node, 'kernel_shape', w ? w.slice(2) : [1, 1]), useBias: nIn > 2 });
    }
    case 'Gemm':
      return c('Dense', { units: g.outputShape[g.outputShape.length - 1], useBias: nIn > 2 });
    case 'MatMul': {
      if (constDims(f, node.input[1])) return c('Dense', { units: g.outputShape[g.outputShape.length - 1], useBias: false });
      // Two activations: outputs x the shared dimension, no weights.
      const k = g.inputShapes[0]?.[g.inputShapes[0].length - 1] ?? 1;
      return own('MatMul', { category: 'dense', macs: outN * k, elementOps: 0, params: 0, weightCount: 0 });
    }
    case 'BatchNormalization':
      return c('BatchNormalization', { axis: -1 });
    case 'LayerNormalization':
      return c('LayerNormalization', {});
    case 'InstanceNormalization':
    case 'LRN':
      return own(op, { category: 'normalization', macs: 0, elementOps: 7 * outN, params: weightCount, weightCount });
    case 'MaxPool':
    case 'AveragePool':
    case 'LpPool':
      return c(op === 'MaxPool' ? 'MaxPooling2D' : 'AveragePooling2D', { poolSize: attrInts(node, 'kernel_shape', [1, 1]) });
    default:
      break;
  }
  if (op in ACTIVATIONS) {
    const params = op === 'PRelu' ? weightCount : 0;
    return own('Activation', { ...layerCounts({ ...g, className: 'Activation', config: { activation: ACTIVATIONS[op] } }), params, weightCount: params });
  }
  if (ELEMENTWISE.has(op)) {
    const ops = outN * Math.max(1, nIn - 1);
    // With one input from the network (a bias, a scale) it runs fused like an activation.
    const type = g.inbound.length >= 2 ? MERGE_TYPES[op] ?? op : 'Activation';
    return own(type, { category: 'elementwise', macs: 0, elementOps: ops, params: 0, weightCount: 0 });
  }
  if (UNARY.has(op)) return own(op, { category: 'elementwise', macs: 0, elementOps: outN, params: 0, weightCount: 0 });
  if (REDUCE.has(op)) return own(op === 'GlobalAveragePool' ? 'GlobalAveragePooling2D' : op, { category: 'pooling', macs: 0, elementOps: prod(g.inputShapes[0] ?? []), params: 0, weightCount: 0 });
  if (VIEWS.has(op)) return own(op === 'Flatten' ? 'Flatten' : op, { category: 'view', macs: 0, elementOps: 0, params: 0, weightCount: 0 });
  if (DATA.has(op)) {
    const bilinear = (op === 'Resize' || op === 'Upsample') && attrString(node, 'mode', 'nearest') !== 'nearest';
    const className = op === 'Resize' || op === 'Upsample' ? 'UpSampling2D' : op === 'Concat' ? 'Concatenate' : op === 'Pad' ? 'ZeroPadding2D' : op;
    return own(className, { category: 'data', macs: 0, elementOps: bilinear ? 4 * outN : 0, params: 0, weightCount: 0 });
  }
  return { className: op, counts: { category: 'elementwise', macs: 0, elementOps: outN, params: weightCount, weightCount, estimated: true }, known: false };
}

/** An analysed ONNX model and the operators it did not know. */
export interface OnnxAnalysis {
  analysis: ModelAnalysis;
  /** Unknown operators (counted as elementwise), with how many nodes each. */
  unknown: Map<string, number>;
}

/** Analyses every node of an ONNX model that depends on its input (shapes from a run). */
export async function analyzeOnnx(f: OnnxFile, precision: Precision = 'fp32', name = path.basename(f.file, '.onnx')): Promise<OnnxAnalysis> {
  const info = await probeTensors(f);
  const ix = f.index;
  const shapeOf = (t: string) => (t === ix.input ? [...f.imageShape] : channelLast(info.get(t)?.dims ?? [], f.layout));
  const layerOf = new Map<string, string>([[ix.input, ix.input]]); // tensor -> layer (node first output)
  const layers: LayerAnalysis[] = [];
  const inputShape = [...f.imageShape];
  layers.push(layerAnalysisOf({ name: ix.input, className: 'InputLayer', config: {}, inputShapes: [], outputShape: inputShape, inbound: [] },
    { category: 'input', macs: 0, elementOps: 0, params: 0, weightCount: 0 }, precision));
  const unknown = new Map<string, number>();
  ix.nodes.forEach((node, i) => {
    if (!ix.live[i]) return;
    const liveIns = nodeInputs(node).filter((t) => layerOf.has(t));
    const layerName = node.output[0];
    const g: GraphLayer = {
      name: layerName, className: node.opType, config: {},
      inputShapes: liveIns.map(shapeOf), outputShape: shapeOf(layerName), inbound: [...new Set(liveIns.map((t) => layerOf.get(t)!))],
    };
    const { className, counts, known } = nodeCounts(f, node, g);
    if (!known) unknown.set(node.opType, (unknown.get(node.opType) ?? 0) + 1);
    layers.push(layerAnalysisOf({ ...g, className }, counts, precision));
    for (const o of node.output) if (o) layerOf.set(o, layerName);
  });
  const cuts = await floatCuts(f);
  const analysis: ModelAnalysis = {
    name,
    inputShape,
    precision,
    layers,
    totalMacs: layers.reduce((a, l) => a + l.macs, 0),
    totalFlops: layers.reduce((a, l) => a + l.flops, 0),
    totalParams: layers.reduce((a, l) => a + l.params, 0),
    totalWeightCount: layers.reduce((a, l) => a + l.weightCount, 0),
    splitPoints: cuts,
    outputs: [layerOf.get(ix.output) ?? ix.output],
  };
  return { analysis, unknown };
}

/** The warning line for unknown operators ('' when there are none). */
export function unknownOperatorsWarning(file: string, unknown: Map<string, number>): string {
  if (unknown.size === 0) return '';
  const list = [...unknown].map(([op, n]) => `${op} (${n} node${n > 1 ? 's' : ''})`).join(', ');
  return `splitsim: warning: ${file}: operator(s) not analysed here, counted as elementwise (one operation per output value): ${list}\n`;
}

/**
 * Metadata of an ONNX model without meta.json, from its graph (as model/derive.ts derives it
 * for a LayersModel): input shape, classes, every cut and the candidate split points.
 */
export async function deriveOnnxMeta(f: OnnxFile, name: string): Promise<DerivedMeta> {
  const { analysis: a, unknown } = await analyzeOnnx(f, 'fp32', name);
  process.stderr.write(unknownOperatorsWarning(f.file, unknown));
  return {
    name,
    kind: 'teacher' as const,
    input: { shape: a.inputShape, mean: 0, std: 1 },
    splitPoints: candidateSplitPoints(a),
    macs: Math.max(1, Math.round(a.totalMacs)),
    params: Math.max(1, a.totalParams),
    pytorchTop1: NaN,
    trainedWith: { derived: `no meta.json: split points and shapes derived from the ONNX graph (opset ${f.opset})` },
    files: {},
    derived: { from: 'graph' as const, cutPoints: a.splitPoints, classes: await outputClasses(f) },
  };
}
