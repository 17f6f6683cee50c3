/**
 * Per-layer compute-time model. Each executed layer takes
 *
 *   t = max( B·FLOPs / (peak · eff[category]),  (B·activationBytes + weightBytes) / (bw · effMem) )
 *       + perLayerOverhead x kernel launches
 *
 * plus, once per inference, the framework's fixed start-up cost (charged to the input layer).
 * for a batch of B samples (a roofline: whichever of arithmetic and memory traffic is the
 * bottleneck, plus the fixed cost of launching the layer). Weights are read once per batch,
 * which is why batching pays on servers. Layers that the profile's framework fuses into the
 * preceding layer (batch norm folded into a conv, activations and residual adds applied in
 * the conv's epilogue, reshapes that are only views) cost nothing of their own: their
 * arithmetic is a few operations per element next to the conv's hundreds, and fusing them
 * is precisely what removes their memory traffic and launch overhead.
 */
import {
  BYTES_PER_ELEMENT,
  type CostCategory,
  type LayerAnalysis,
  type ModelAnalysis,
  type Precision,
} from '../model/analysis';
import { UserError } from '../util/errors';
import type { HardwareProfile } from './profile';

/** Predicted cost of one layer on one device. */
export interface LayerCost {
  name: string;
  type: string;
  category: string;
  macs: number;
  params: number;
  outputBytes: number;
  flops: number;
  /** Bytes moved from/to memory for the whole batch. */
  memoryBytes: number;
  computeMs: number;
  memoryMs: number;
  overheadMs: number;
  timeMs: number;
  /** What limits the layer: compute, memory, overhead, or fused/free (no cost of its own). */
  bound: 'compute' | 'memory' | 'overhead' | 'fused' | 'free';
  /** The layer this one is fused into, when fused. */
  fusedInto?: string;
}

/** Predicted head and tail times if the model is split after a layer. */
export interface SplitCost {
  layer: string;
  /** Time of the head (input .. layer) on the device. */
  headMs: number;
  /** Time of the tail (after layer .. output) on the same device. */
  tailMs: number;
  /** Bytes of the tensor that crosses the network (per sample, at the profile precision). */
  outputBytes: number;
}

/** Predicted cost of a whole model. */
export interface ModelCost {
  model: string;
  device: string;
  framework: string;
  precision: Precision;
  batch: number;
  layers: LayerCost[];
  /** Sum of the per-layer times (the whole batch). */
  totalMs: number;
  totalMacs: number;
  totalParams: number;
  /** Energy at the profile's active power for totalMs, mJ. */
  energyMj: number;
  splitPoints: SplitCost[];
}

/** Options of a prediction. */
export interface CostOptions {
  batch?: number;
  precision?: Precision;
}

const COMPUTE_CATEGORIES = new Set(['conv', 'conv3x3', 'deconv', 'depthwise', 'dense']);
const ACTIVATION_TYPES = new Set(['ReLU', 'Activation', 'LeakyReLU', 'ELU', 'ThresholdedReLU', 'PReLU']);

/** Resolves the precision a prediction uses and checks the profile supports it. */
export function resolvePrecision(profile: HardwareProfile, precision?: Precision): Precision {
  const p = precision ?? profile.defaultPrecision;
  if (!profile.compute[p]) {
    const have = Object.keys(profile.compute).join(', ');
    throw new UserError(`profile '${profile.name}' has no ${p} compute figures (has: ${have})`);
  }
  return p;
}

/**
 * Decides which layers are fused into which: returns, for every layer, the name of the
 * layer that executes it (itself when executed on its own), or null for free views.
 * `boundary` layers produce tensors that must be materialised (a split point), so nothing
 * fuses across them.
 */
export function fusionPlan(
  layers: LayerAnalysis[],
  profile: HardwareProfile,
  boundary: ReadonlySet<string> = new Set(),
  outputs: ReadonlySet<string> = new Set(),
): Map<string, string | null> {
  const consumers = new Map<string, number>();
  for (const l of layers) for (const p of l.inbound) consumers.set(p, (consumers.get(p) ?? 0) + 1);
  const byName = new Map(layers.map((l) => [l.name, l]));
  const anchor = new Map<string, string | null>();
  // A producer can absorb its consumer when its output goes nowhere else.
  const absorbs = (producer: string): string | undefined => {
    if (boundary.has(producer) || outputs.has(producer) || (consumers.get(producer) ?? 0) !== 1) return undefined;
    const a = anchor.get(producer);
    if (!a) return undefined;
    const al = byName.get(a);
    return al && (COMPUTE_CATEGORIES.has(al.category) || al.type === 'Add') ? a : undefined;
  };
  for (const l of layers) {
    let target: string | null | undefined;
    if (l.category === 'input') target = null;
    else if (l.category === 'view' && profile.fusion.views) target = null;
    else if (l.type === 'BatchNormalization' && profile.fusion.batchNorm && l.inbound.length === 1) {
      const a = absorbs(l.inbound[0]);
      if (a && COMPUTE_CATEGORIES.has(byName.get(a)!.category)) target = a;
    } else if (ACTIVATION_TYPES.has(l.type) && profile.fusion.activation && l.inbound.length === 1) {
      target = absorbs(l.inbound[0]);
    } else if (l.type === 'Add' && profile.fusion.add) {
      for (const p of l.inbound) {
        const a = absorbs(p);
        if (a && COMPUTE_CATEGORIES.has(byName.get(a)!.category)) {
          target = a;
          break;
        }
      }
    }
    anchor.set(l.name, target === undefined ? l.name : target);
  }
  return anchor;
}

function layerCost(
  l: LayerAnalysis,
  executedBy: string | null,
  profile: HardwareProfile,
  precision: Precision,
  batch: number,
): LayerCost {
  const base = {
    name: l.name,
    type: l.type,
    category: l.category,
    macs: l.macs,
    params: l.params,
    outputBytes: l.outputElements * BYTES_PER_ELEMENT[precision],
    flops: l.flops * batch,
  };
  if (l.category === 'input') {
    // Starting an inference (feeding the input, framework bookkeeping) is charged here, so
    // that per-layer times still add up to the total.
    const overheadMs = profile.overhead.perInferenceMs ?? 0;
    return { ...base, memoryBytes: 0, computeMs: 0, memoryMs: 0, overheadMs, timeMs: overheadMs, bound: overheadMs > 0 ? 'overhead' : 'free' };
  }
  if (executedBy === null || executedBy !== l.name) {
    return {
      ...base,
      memoryBytes: 0,
      computeMs: 0,
      memoryMs: 0,
      overheadMs: 0,
      timeMs: 0,
      bound: executedBy === null ? 'free' : 'fused',
      ...(executedBy !== null ? { fusedInto: executedBy } : {}),
    };
  }
  const spec = profile.compute[precision]!;
  const bpe = BYTES_PER_ELEMENT[precision];
  const efficiency = spec.efficiency[l.category as CostCategory] ?? spec.efficiency.elementwise;
  const computeMs = (l.flops * batch) / (spec.peakGflops * 1e9 * efficiency) * 1e3;
  const memoryBytes = batch * (l.inputElements + l.outputElements) * bpe + l.weightCount * bpe;
  const moves = l.category !== 'view';
  const memoryMs = moves ? (memoryBytes / (profile.memory.bandwidthGBps * 1e9 * profile.memory.efficiency)) * 1e3 : 0;
  const overheadMs = profile.overhead.perLayerMs * l.launches;
  const work = Math.max(computeMs, memoryMs);
  return {
    ...base,
    memoryBytes: moves ? memoryBytes : 0,
    computeMs,
    memoryMs,
    overheadMs,
    timeMs: work + overheadMs,
    bound: overheadMs > work ? 'overhead' : computeMs >= memoryMs ? 'compute' : 'memory',
  };
}

/** Predicted per-layer costs of a list of layers (the whole model, a head or a tail). */
export function predictLayers(
  layers: LayerAnalysis[],
  profile: HardwareProfile,
  options: CostOptions & { boundary?: ReadonlySet<string>; outputs?: ReadonlySet<string> } = {},
): LayerCost[] {
  const batch = options.batch ?? 1;
  if (!Number.isInteger(batch) || batch < 1) throw new UserError(`batch must be a positive integer (got ${batch})`);
  const precision = resolvePrecision(profile, options.precision);
  const plan = fusionPlan(layers, profile, options.boundary, options.outputs);
  return layers.map((l) => layerCost(l, plan.get(l.name)!, profile, precision, batch));
}

/** Sum of timeMs (the time of running these layers once on the device). */
export const sumMs = (costs: LayerCost[]): number => costs.reduce((a, c) => a + c.timeMs, 0);

/** Ancestors of a layer, itself included (the head of a split after it). */
export function headLayers(analysis: ModelAnalysis, layer: string): Set<string> {
  const byName = new Map(analysis.layers.map((l) => [l.name, l]));
  const head = new Set<string>();
  const stack = [layer];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (head.has(n)) continue;
    head.add(n);
    for (const p of byName.get(n)?.inbound ?? []) stack.push(p);
  }
  return head;
}

/** Where a pipeline cuts the model: before it ('input'), after it ('device-only'), or after a layer. */
export type SplitWhere = 'input' | 'device-only' | string;

/**
 * Predicted time of the head (input .. split, on the device) and the tail (after the split,
 * on the server) of one batch, on one profile: the one timing function of split pipelines.
 * Fusion does not cross the split; the tail is a separate inference and pays the profile's
 * start-up (the head pays it through the input layer). 'input' puts the whole model in the
 * tail, 'device-only' in the head.
 */
export function splitTimes(
  analysis: ModelAnalysis,
  profile: HardwareProfile,
  split: SplitWhere,
  options: CostOptions = {},
): { headMs: number; tailMs: number } {
  const batch = options.batch ?? 1;
  const precision = resolvePrecision(profile, options.precision);
  const outputs = new Set(analysis.outputs);
  if (split === 'input' || split === 'device-only') {
    const total = sumMs(predictLayers(analysis.layers, profile, { batch, precision, outputs }));
    return split === 'input' ? { headMs: 0, tailMs: total } : { headMs: total, tailMs: 0 };
  }
  if (!analysis.layers.some((l) => l.name === split)) {
    throw new UserError(`split point '${split}' is not a layer of model '${analysis.name}' (split points: ${analysis.splitPoints.join(', ')})`);
  }
  const head = headLayers(analysis, split);
  const costs = predictLayers(analysis.layers, profile, { batch, precision, outputs, boundary: new Set([split]) });
  let headMs = 0;
  let tailMs = profile.overhead.perInferenceMs ?? 0;
  for (const c of costs) (head.has(c.name) ? (headMs += c.timeMs) : (tailMs += c.timeMs));
  return { headMs, tailMs };
}

/**
 * Predicts a model on a device: every layer's time, the total, the energy, and the head
 * and tail times at every candidate split point (fusion does not cross the split).
 */
export function predictModel(analysis: ModelAnalysis, profile: HardwareProfile, options: CostOptions = {}): ModelCost {
  const batch = options.batch ?? 1;
  const precision = resolvePrecision(profile, options.precision);
  const outputs = new Set(analysis.outputs);
  const layers = predictLayers(analysis.layers, profile, { batch, precision, outputs });
  const totalMs = sumMs(layers);
  const splitPoints = analysis.splitPoints.map((s) => {
    const { headMs, tailMs } = splitTimes(analysis, profile, s, { batch, precision });
    const l = analysis.layers.find((x) => x.name === s)!;
    return { layer: s, headMs, tailMs, outputBytes: l.outputElements * BYTES_PER_ELEMENT[precision] };
  });
  return {
    model: analysis.name,
    device: profile.name,
    framework: profile.framework,
    precision,
    batch,
    layers,
    totalMs,
    totalMacs: analysis.totalMacs,
    totalParams: analysis.totalParams,
    energyMj: energyMj(profile, totalMs),
    splitPoints,
  };
}

/** Energy (mJ) the device spends computing for timeMs at its active power (W × ms = mJ). */
export function energyMj(profile: HardwareProfile, timeMs: number): number {
  return profile.power.activeW * timeMs;
}

/** Energy (mJ) the device spends idle for timeMs. */
export function idleEnergyMj(profile: HardwareProfile, timeMs: number): number {
  return profile.power.idleW * timeMs;
}

/** Per-sample throughput (samples/s) of a batch on a device, e.g. an edge server. */
export function throughputPerS(analysis: ModelAnalysis, profile: HardwareProfile, batch: number, precision?: Precision): number {
  const ms = sumMs(predictLayers(analysis.layers, profile, { batch, precision, outputs: new Set(analysis.outputs) }));
  return (batch / ms) * 1e3;
}
