/**
 * Per-layer compute-time model. Each executed layer of a batch of B samples takes
 *
 *   kernel = max( minKernel x launches,
 *                 B·FLOPs / (peak · eff[category] · u),
 *                 (B·activationBytes + weightBytes) / (bw · effMem) )
 *   gpu    = kernel + perLayerOverhead x launches
 *
 * a roofline (arithmetic or memory traffic, whichever is the bottleneck) with two GPU
 * corrections: u = n / (n + sms·outputsPerSm) is the share of the device one convolution
 * can use when it exposes n = outputElements·B outputs (a small batch cannot fill a large
 * GPU, so time grows sub-linearly with batch until the device is full), and no launched
 * kernel finishes faster than minKernel. Runtimes that issue kernels from the host CPU one
 * by one (eager frameworks) pay `dispatchMs` per launch on the CPU, overlapped with the
 * device working through earlier kernels: a layer's time is its step of the device clock,
 * so per-layer times still sum to the total. Once per inference, the framework's fixed
 * start-up cost is charged to the input layer.
 *
 * Weights are read once per batch, which is why batching pays on servers. Layers the
 * runtime fuses into the preceding layer (batch norm folded into a conv, activations and
 * residual adds applied in the conv's epilogue, reshapes that are only views) cost nothing
 * of their own: their arithmetic is a few operations per element next to the conv's
 * hundreds, and fusing them is precisely what removes their memory traffic and launches.
 * FP32 layers of the categories a runtime lists under `tf32` run at the TF32 tensor-core
 * rate (compute.tf32) but still move 4-byte elements.
 */
import {
  BYTES_PER_ELEMENT,
  type CostCategory,
  type LayerAnalysis,
  type ModelAnalysis,
  type Precision,
} from '../model/analysis';
import { inputError, UserError } from '../util/errors';
import { profileWhere, withRuntime, type HardwareProfile, type RuntimeProfile } from './profile';

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
  /** Launch costs plus any wait for the host to issue the kernel (eager runtimes). */
  overheadMs: number;
  timeMs: number;
  /** Share of the device the layer's kernel can use at this batch (1 without a utilisation model). */
  utilisation: number;
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
  /** The runtime the prediction used and its framework description. */
  runtime: string;
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
  /** One of the profile's runtimes (see listRuntimes); default: the profile's default runtime. */
  runtime?: string;
}

type LayerOptions = CostOptions & { boundary?: ReadonlySet<string>; outputs?: ReadonlySet<string> };

const COMPUTE_CATEGORIES = new Set(['conv', 'conv3x3', 'deconv', 'depthwise', 'dense']);
/**
 * Layers whose kernels tile their outputs, so that few outputs leave SMs idle. Dense layers
 * are not among them: with few outputs, GEMM libraries split the long reduction across SMs
 * (split-K), and at small batch the weight read (the memory term) decides their time.
 */
const CONV_CATEGORIES = new Set(['conv', 'conv3x3', 'deconv', 'depthwise']);
const ACTIVATION_TYPES = new Set(['ReLU', 'Activation', 'LeakyReLU', 'ELU', 'ThresholdedReLU', 'PReLU']);

/**
 * Resolves the precision a prediction uses and checks that the hardware has it and the
 * runtime runs it; either failure names the profile file and the field.
 */
export function resolvePrecision(profile: HardwareProfile, precision?: Precision, runtime?: string): Precision {
  const rp = withRuntime(profile, runtime);
  const p = precision ?? rp.defaultPrecision;
  if (!rp.compute[p]) {
    const have = rp.precisions.join(', ');
    throw inputError(profileWhere(rp), `compute.${p}`, `${rp.name} has no ${p.toUpperCase()} hardware support (precisions: ${have})`);
  }
  if (!rp.precisions.includes(p)) {
    throw inputError(
      profileWhere(rp),
      `runtimes.${rp.runtimeName}.precisions`,
      `runtime '${rp.runtimeName}' does not run ${p} (runs: ${rp.precisions.join(', ')})`,
    );
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

/**
 * Whether a conv or dense layer applies an activation inside itself (the tfjs `activation`
 * option): its element operations exceed the bias add. The bias is what the parameters
 * hold beyond the kernel weights, which are MACs x output channels / output elements.
 */
export function hasInlineActivation(l: LayerAnalysis): boolean {
  if (!COMPUTE_CATEGORIES.has(l.category) || l.category === 'deconv' || l.outputElements === 0) return false;
  const channels = l.outputShape[l.outputShape.length - 1] ?? 1;
  const kernelWeights = (l.macs * channels) / l.outputElements;
  const biasOps = l.params - kernelWeights > 0.5 ? l.outputElements : 0;
  return l.elementOps - biasOps > 0;
}

/**
 * Share of a GPU's compute rate a convolution reaches when it exposes `outputs` output
 * elements and reads `inputChannels` channels (1 off GPUs).
 */
export function utilisation(profile: HardwareProfile, outputs: number, inputChannels?: number): number {
  const u = profile.utilisation;
  if (!u) return 1;
  const width = outputs / (outputs + u.sms * u.outputsPerSm);
  if (!u.channelTile || !inputChannels) return width;
  return (width * inputChannels) / (Math.ceil(inputChannels / u.channelTile) * u.channelTile);
}

/** Everything about a layer list and a runtime that does not depend on the batch. */
interface Plan {
  layers: LayerAnalysis[];
  rp: RuntimeProfile;
  precision: Precision;
  anchors: Array<string | null>;
  separateActivation: boolean[];
  boundary: ReadonlySet<string>;
}

function makePlan(layers: LayerAnalysis[], profile: HardwareProfile, options: LayerOptions): Plan {
  const rp = withRuntime(profile, options.runtime);
  const precision = resolvePrecision(rp, options.precision);
  const boundary = options.boundary ?? new Set<string>();
  const plan = fusionPlan(layers, rp, boundary, options.outputs);
  const apart = rp.fusion.inlineActivation === false;
  return {
    layers,
    rp,
    precision,
    anchors: layers.map((l) => plan.get(l.name)!),
    separateActivation: layers.map((l) => apart && hasInlineActivation(l)),
    boundary,
  };
}

/** Device-side cost of one executed layer (before any wait for the host to issue it). */
function executedCost(l: LayerAnalysis, separateActivation: boolean, rp: RuntimeProfile, precision: Precision, batch: number) {
  const tf32 = precision === 'fp32' && rp.compute.tf32 !== undefined && rp.tf32Categories.has(l.category);
  const spec = tf32 ? rp.compute.tf32! : rp.compute[precision]!;
  const bpe = BYTES_PER_ELEMENT[precision];
  const efficiency = spec.efficiency[l.category as CostCategory] ?? spec.efficiency.elementwise;
  const u = CONV_CATEGORIES.has(l.category) ? utilisation(rp, l.outputElements * batch, l.category === 'depthwise' ? undefined : inputChannels(l)) : 1;
  const computeMs = ((l.flops * batch) / (spec.peakGflops * 1e9 * efficiency * u)) * 1e3;
  const bytesPerMs = profileBytesPerMs(rp);
  const moves = l.category !== 'view';
  const memoryBytes = moves ? batch * (l.inputElements + l.outputElements) * bpe + l.weightCount * bpe : 0;
  const memoryMs = memoryBytes / bytesPerMs;
  const minKernelMs = rp.overhead.minKernelMs ?? 0;
  let kernelMs = Math.max(minKernelMs * l.launches, computeMs, memoryMs);
  let launches = l.launches;
  if (separateActivation) {
    // The activation reads and writes the layer's output in a kernel of its own.
    kernelMs += Math.max(minKernelMs, (2 * batch * l.outputElements * bpe) / bytesPerMs);
    launches += 1;
  }
  return { computeMs, memoryMs, memoryBytes, kernelMs, launches, launchMs: rp.overhead.perLayerMs * launches, u };
}

const inputChannels = (l: LayerAnalysis): number | undefined => {
  const shape = l.inputShapes[0];
  return shape && shape.length > 0 ? shape[shape.length - 1] : undefined;
};

const profileBytesPerMs = (rp: RuntimeProfile): number => rp.memory.bandwidthGBps * 1e6 * rp.memory.efficiency;

function evaluate(plan: Plan, batch: number): LayerCost[] {
  const { rp, precision } = plan;
  const bpe = BYTES_PER_ELEMENT[precision];
  const dispatchMs = rp.overhead.dispatchMs ?? 0;
  // Two clocks: when the host has issued the kernels so far, and when the device finished them.
  let host = 0;
  let device = 0;
  const out: LayerCost[] = new Array(plan.layers.length);
  for (let i = 0; i < plan.layers.length; i++) {
    const l = plan.layers[i];
    const executedBy = plan.anchors[i];
    const cost: LayerCost = {
      name: l.name,
      type: l.type,
      category: l.category,
      macs: l.macs,
      params: l.params,
      outputBytes: l.outputElements * bpe,
      flops: l.flops * batch,
      memoryBytes: 0,
      computeMs: 0,
      memoryMs: 0,
      overheadMs: 0,
      timeMs: 0,
      utilisation: 1,
      bound: 'free',
    };
    if (l.category === 'input') {
      // Starting an inference (feeding the input, framework bookkeeping) is charged here, so
      // that per-layer times still add up to the total.
      const overheadMs = rp.overhead.perInferenceMs ?? 0;
      host = device = device + overheadMs;
      cost.overheadMs = cost.timeMs = overheadMs;
      if (overheadMs > 0) cost.bound = 'overhead';
    } else if (executedBy !== null && executedBy !== l.name) {
      cost.bound = 'fused';
      cost.fusedInto = executedBy;
    } else if (executedBy !== null) {
      const c = executedCost(l, plan.separateActivation[i], rp, precision, batch);
      host += dispatchMs * c.launches;
      const start = Math.max(device, host);
      const waitMs = start - device;
      const work = Math.max(c.computeMs, c.memoryMs);
      cost.timeMs = waitMs + c.kernelMs + c.launchMs;
      device += cost.timeMs;
      cost.memoryBytes = c.memoryBytes;
      cost.computeMs = c.computeMs;
      cost.memoryMs = c.memoryMs;
      cost.overheadMs = waitMs + c.launchMs + Math.max(0, c.kernelMs - work);
      cost.utilisation = c.u;
      cost.bound = cost.overheadMs > work ? 'overhead' : c.computeMs >= c.memoryMs ? 'compute' : 'memory';
    }
    // A split materialises its tensor and hands it on: the tail starts with the host in step.
    if (plan.boundary.has(l.name)) host = device;
    out[i] = cost;
  }
  return out;
}

/** Predicted per-layer costs of a list of layers (the whole model, a head or a tail). */
export function predictLayers(layers: LayerAnalysis[], profile: HardwareProfile, options: LayerOptions = {}): LayerCost[] {
  const batch = options.batch ?? 1;
  checkBatch(batch);
  return evaluate(makePlan(layers, profile, options), batch);
}

function checkBatch(batch: number): void {
  if (!Number.isInteger(batch) || batch < 1) throw new UserError(`batch must be a positive integer (got ${batch})`);
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

/** Head and tail time of one batch. */
export interface SplitTimes {
  headMs: number;
  tailMs: number;
}

/** A split prepared once (fusion plan, head set), evaluated at any batch. */
function splitEvaluator(analysis: ModelAnalysis, profile: HardwareProfile, split: SplitWhere, options: CostOptions): (batch: number) => SplitTimes {
  const outputs = new Set(analysis.outputs);
  if (split === 'input' || split === 'device-only') {
    const plan = makePlan(analysis.layers, profile, { ...options, outputs });
    return (batch) => {
      const total = sumMs(evaluate(plan, batch));
      return split === 'input' ? { headMs: 0, tailMs: total } : { headMs: total, tailMs: 0 };
    };
  }
  if (!analysis.layers.some((l) => l.name === split)) {
    throw new UserError(`split point '${split}' is not a layer of model '${analysis.name}' (split points: ${analysis.splitPoints.join(', ')})`);
  }
  const head = headLayers(analysis, split);
  const plan = makePlan(analysis.layers, profile, { ...options, outputs, boundary: new Set([split]) });
  const startMs = plan.rp.overhead.perInferenceMs ?? 0;
  return (batch) => {
    let headMs = 0;
    let tailMs = startMs;
    for (const c of evaluate(plan, batch)) (head.has(c.name) ? (headMs += c.timeMs) : (tailMs += c.timeMs));
    return { headMs, tailMs };
  };
}

/**
 * Predicted time of the head (input .. split, on the device) and the tail (after the split,
 * on the server) of one batch, on one profile and runtime: the one timing function of split
 * pipelines. Fusion does not cross the split; the tail is a separate inference and pays the
 * runtime's start-up (the head pays it through the input layer). 'input' puts the whole
 * model in the tail, 'device-only' in the head.
 */
export function splitTimes(analysis: ModelAnalysis, profile: HardwareProfile, split: SplitWhere, options: CostOptions = {}): SplitTimes {
  const batch = options.batch ?? 1;
  checkBatch(batch);
  return splitEvaluator(analysis, profile, split, options)(batch);
}

/**
 * splitTimes for every batch 1..maxBatch at once (index b-1 holds batch b), preparing the
 * fusion plan and the head once: what an edge-batching model needs for its batch curve.
 */
export function splitTimesCurve(
  analysis: ModelAnalysis,
  profile: HardwareProfile,
  split: SplitWhere,
  options: Omit<CostOptions, 'batch'> & { maxBatch: number },
): SplitTimes[] {
  checkBatch(options.maxBatch);
  const at = splitEvaluator(analysis, profile, split, options);
  return Array.from({ length: options.maxBatch }, (_, i) => at(i + 1));
}

/**
 * Predicts a model on a device: every layer's time, the total, the energy, and the head
 * and tail times at every candidate split point (fusion does not cross the split).
 */
export function predictModel(analysis: ModelAnalysis, profile: HardwareProfile, options: CostOptions = {}): ModelCost {
  const batch = options.batch ?? 1;
  const rp = withRuntime(profile, options.runtime);
  const precision = resolvePrecision(rp, options.precision);
  const opts = { batch, precision, runtime: rp.runtimeName };
  const layers = predictLayers(analysis.layers, rp, { ...opts, outputs: new Set(analysis.outputs) });
  const totalMs = sumMs(layers);
  const splitPoints = analysis.splitPoints.map((s) => {
    const { headMs, tailMs } = splitTimes(analysis, rp, s, opts);
    const l = analysis.layers.find((x) => x.name === s)!;
    return { layer: s, headMs, tailMs, outputBytes: l.outputElements * BYTES_PER_ELEMENT[precision] };
  });
  return {
    model: analysis.name,
    device: rp.name,
    runtime: rp.runtimeName,
    framework: rp.framework,
    precision,
    batch,
    layers,
    totalMs,
    totalMacs: analysis.totalMacs,
    totalParams: analysis.totalParams,
    energyMj: energyMj(rp, totalMs),
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
export function throughputPerS(analysis: ModelAnalysis, profile: HardwareProfile, batch: number, precision?: Precision, runtime?: string): number {
  const ms = sumMs(predictLayers(analysis.layers, profile, { batch, precision, runtime, outputs: new Set(analysis.outputs) }));
  return (batch / ms) * 1e3;
}
