/**
 * Pipeline resolution: the stage between a validated scenario and the simulation. It
 * expands the scenario's pipelines, checks every name, profile and parameter (all problems
 * at once, before anything runs), asks measurement for each measured pipeline's per-sample
 * bytes and correctness (cached), asks the hardware model for head and tail times on the
 * scenario's device and server, prices codec CPU time with the calibrated codec cost models
 * scaled to each profile's CPU, and hands the simulator one typed record per pipeline.
 */
import * as path from 'path';
import type { LoadedScenario, Scenario } from '../config/scenario';
import { classCost, loadCodecCosts, predictCostMs, type CodecCosts } from '../codecs/cost';
import { entryOf, specParamsOf } from '../codecs/registry';
import { distributionMean, makeSampler } from '../engine/distributions';
import { splitTimes, splitTimesCurve } from '../hardware/cost';
import { analyzeModelSpec } from '../hardware/model-source';
import { listRuntimes, loadProfile, withRuntime, type HardwareProfile } from '../hardware/profile';
import type { MeasurementRow } from '../measure/aggregate';
import { datasetFromScenario, type DataRef } from '../data/spec';
import { measurePipelines, modelBackend } from '../measure/measure';
import { prepareModels } from '../model/derive';
import { describeBackend, type RuntimeName } from '../model/runtime';
import type { ModelAnalysis } from '../model/analysis';
import { radioModel, type RadioModel } from '../network/radio';
import { quantileSorted } from '../report/stats';
import { UserError } from '../util/errors';
import { expandPipelines, Problems, type Expanded } from './expand';
import type { DevicePower, PipelineRecord } from './record';
import { pipelineName, codecKey, codecParams, DEVICE_ONLY, type PipelineRef } from './ref';

/** Everything the simulation and the report need from a resolved scenario. */
export interface ResolvedScenario {
  scenario: Scenario;
  file: string;
  records: PipelineRecord[];
  /** The pipeline accuracy differences are paired against. */
  reference?: string;
  /** The scenario's reference (unsplit) model. */
  model: string;
  power?: DevicePower;
  radio?: RadioModel;
  deviceProfile?: string;
  edgeProfile?: string;
  /** What measurement used and produced (absent when nothing is measured). */
  measurement?: {
    backend: string;
    seed: number;
    samples: number;
    sampleIndices: number[];
    datasetHash: string;
    models: Array<{ name: string; hash: string }>;
    rows: MeasurementRow[];
    codecCosts: string;
    hostSysbench: number;
  };
}

/** Options of resolution. */
export interface ResolveOptions {
  /** Overrides the scenario's samples (e.g. 10000 for the whole test set). */
  samples?: number;
  /** Keep only these pipelines (names as printed); the reference pipeline is always measured. */
  only?: string[];
  zooDir?: string;
  workers?: number;
  /** The model runtime measurement uses (default: SPLITSIM_RUNTIME, else as measurement chooses). */
  runtime?: RuntimeName | 'auto';
  /** Progress and notes (stderr). */
  log?: (msg: string) => void;
}

/**
 * Loads a profile named in a scenario (a name in profiles/, or a path relative to the
 * scenario file) with the runtime the scenario asks for (default: the profile's).
 */
function scenarioProfile(name: string, runtime: string | undefined, file: string, field: string, P: Problems): HardwareProfile | undefined {
  const isPath = name.includes('/') || name.includes(path.sep);
  let profile: HardwareProfile;
  try {
    profile = loadProfile(isPath ? path.resolve(path.dirname(file), name) : name);
  } catch (e) {
    P.add(`${field}.profile`, e instanceof UserError ? e.message : String(e));
    return undefined;
  }
  if (runtime !== undefined && !listRuntimes(profile).includes(runtime)) {
    P.add(`${field}.runtime`, `profile '${profile.name}' does not declare runtime '${runtime}' (it has: ${listRuntimes(profile).join(', ')})`);
    return undefined;
  }
  return withRuntime(profile, runtime);
}

/** Single-thread speed of the host the codecs were calibrated on relative to a profile's CPU. */
function cpuScale(costs: CodecCosts, profile: HardwareProfile): number {
  return costs.host.sysbenchEventsPerS / profile.cpu!.sysbenchEventsPerS;
}

/** Validates and resolves every pipeline of a loaded scenario into simulation records. */
export async function resolveScenario(loaded: LoadedScenario, opts: ResolveOptions = {}): Promise<ResolvedScenario> {
  const { scenario: s, file } = loaded;
  const log = opts.log ?? (() => undefined);
  const P = new Problems(file);
  // Model folders without meta.json have their split points derived from the graph first.
  await prepareModels([s.model, ...(s.models ?? [])], path.dirname(file));
  const ex: Expanded = expandPipelines(s, file, { zooDir: opts.zooDir, problems: P });
  let dataset: DataRef | undefined;
  try {
    dataset = datasetFromScenario(s.dataset, file);
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    P.add(undefined, e.message.startsWith(file) ? e.message.slice(file.length + 2) : e.message);
  }
  if (opts.samples !== undefined && !(Number.isInteger(opts.samples) && opts.samples >= 1 && opts.samples <= 10000000)) {
    P.add(undefined, `--samples: expected an integer from 1 to 10000000, got ${opts.samples}`);
  }
  let measured = ex.measured;
  let declared = ex.declared;
  if (opts.only && opts.only.length > 0) {
    const all = [...measured.map(pipelineName), ...declared.map((d) => d.name)];
    const listed = all.length > 12 ? `${all.slice(0, 12).join(', ')}, ... (${all.length} in all; summary.csv names them)` : all.join(', ');
    for (const n of opts.only) if (!all.includes(n)) P.add(undefined, `--pipeline: '${n}' is not a pipeline of this scenario (it has: ${listed})`);
    measured = measured.filter((r) => opts.only!.includes(pipelineName(r)) || pipelineName(r) === ex.reference);
    declared = declared.filter((d) => opts.only!.includes(d.name));
  }
  const device = s.devices.profile ? scenarioProfile(s.devices.profile, s.devices.runtime, file, 'devices', P) : undefined;
  const edge = s.edge.profile ? scenarioProfile(s.edge.profile, s.edge.runtime, file, 'edge', P) : undefined;
  let costs: CodecCosts | undefined;
  if (measured.length > 0) {
    try {
      costs = loadCodecCosts();
    } catch (e) {
      P.add(undefined, (e as Error).message);
    }
    for (const [p, field] of [[device, 'devices.profile'], [edge, 'edge.profile']] as const) {
      if (p && !p.cpu) P.add(field, `profile '${p.name}' has no cpu block (cpu.sysbenchEventsPerS scales codec CPU time to it)`);
    }
    if (costs) {
      for (const r of measured) {
        const cls = r.codec ? entryOf(r.codec).costClass(specParamsOf(r.codec)) : undefined;
        if (cls && !costs.classes[cls]) P.add(undefined, `${costs.file}: no CPU cost for codec class '${cls}' (used by ${pipelineName(r)}); run 'splitsim calibrate --codecs'`);
      }
    }
  }
  if (edge && s.edge.maxBatch > 1) {
    const cap = edge.batching?.maxBatch;
    if (cap === undefined) P.add('edge.maxBatch', `profile '${edge.name}' declares no batching (batching.maxBatch); use maxBatch 1 or a server profile that batches`);
    else if (s.edge.maxBatch > cap) P.add('edge.maxBatch', `${s.edge.maxBatch} exceeds what profile '${edge.name}' batches (batching.maxBatch ${cap})`);
  }
  P.throwIfAny();

  const records: PipelineRecord[] = [];
  let measurement: ResolvedScenario['measurement'];
  if (measured.length > 0) {
    const modelDirs = new Map([...ex.models].map(([n, m]) => [n, m.dir]));
    const result = await measurePipelines(measured, {
      samples: opts.samples ?? s.samples,
      seed: s.measureSeed,
      dataset,
      zooDir: opts.zooDir,
      modelDirs,
      workers: opts.workers,
      runtime: opts.runtime,
    });
    log(`measurement: ${result.pipelines.length} pipeline(s) on ${result.indices.length} samples (${result.timing.measured} measured, ${result.timing.cached} from cache, ${result.timing.wallS.toFixed(1)} s, ${describeBackend(result.backend)})`);
    const analyses = new Map<string, ModelAnalysis>();
    for (const name of new Set(measured.map((r) => r.model))) {
      analyses.set(name, (await analyzeModelSpec(ex.models.get(name)!.dir)).analysis);
    }
    const devScale = cpuScale(costs!, device!);
    const edgeScale = cpuScale(costs!, edge!);
    const resultBytes = makeSampler(s.resultBytes, true);
    const resultMean = distributionMean(s.resultBytes);
    for (const m of result.pipelines) {
      records.push(measuredRecord(m.ref, m.results, m.row, {
        analysis: analyses.get(m.ref.model)!, device: device!, edge: edge!, costs: costs!, devScale, edgeScale,
        maxBatch: s.edge.maxBatch, resultBytes, resultMean, deadlineMs: s.deadlineMs, backend: modelBackend(result.info, m.ref.model),
        edgeShare: s.edge.cpuShare ?? 1,
      }));
    }
    measurement = {
      backend: result.backend,
      seed: result.seed,
      samples: result.indices.length,
      sampleIndices: result.indices,
      datasetHash: result.datasetHash,
      models: result.models,
      rows: result.pipelines.map((p) => p.row),
      codecCosts: path.relative(process.cwd(), costs!.file) || costs!.file,
      hostSysbench: costs!.host.sysbenchEventsPerS,
    };
  }
  for (const d of declared) records.push(declaredRecord(d, s));
  return {
    scenario: s,
    file,
    records,
    reference: ex.reference,
    model: ex.model,
    power: device ? { profile: device.name, activeW: device.power.activeW, idleW: device.power.idleW } : undefined,
    radio: s.devices.radio !== undefined ? radioModel(s.devices.radio) : undefined,
    deviceProfile: device?.name,
    edgeProfile: edge?.name,
    measurement,
  };
}

interface MeasuredContext {
  analysis: ModelAnalysis;
  device: HardwareProfile;
  edge: HardwareProfile;
  costs: CodecCosts;
  devScale: number;
  edgeScale: number;
  maxBatch: number;
  resultBytes: ReturnType<typeof makeSampler>;
  resultMean: number;
  deadlineMs?: number;
  backend: string;
  /** edge.cpuShare: the edge's tail and decode times are divided by it. */
  edgeShare: number;
}

function measuredRecord(
  ref: PipelineRef,
  r: { bytes: Uint32Array; correct: Uint8Array; elements: number },
  row: MeasurementRow,
  c: MeasuredContext,
): PipelineRecord {
  const n = r.bytes.length;
  const head = splitTimes(c.analysis, c.device, ref.split).headMs;
  const local = ref.split === DEVICE_ONLY;
  const tailBatchMs = local ? new Float64Array(0) : Float64Array.from(splitTimesCurve(c.analysis, c.edge, ref.split, { maxBatch: c.maxBatch }), (t) => t.tailMs / c.edgeShare);
  const deviceMs = new Float64Array(n);
  const decodeMs = new Float64Array(n);
  let costClass = '';
  let enc = 0, dec = 0, bytesSum = 0, correct = 0;
  const cost = ref.codec ? classCost(c.costs, (costClass = entryOf(ref.codec).costClass(specParamsOf(ref.codec)))) : undefined;
  for (let k = 0; k < n; k++) {
    const e = cost ? predictCostMs(cost.encode, r.elements, r.bytes[k]) * c.devScale : 0;
    const d = cost ? (predictCostMs(cost.decode, r.elements, r.bytes[k]) * c.edgeScale) / c.edgeShare : 0;
    deviceMs[k] = head + e;
    decodeMs[k] = d;
    enc += e;
    dec += d;
    bytesSum += r.bytes[k];
    correct += r.correct[k];
  }
  const sorted = Float64Array.from(r.bytes).sort();
  const tail1 = tailBatchMs.length > 0 ? tailBatchMs[0] : 0;
  return {
    name: pipelineName(ref),
    source: 'measured',
    model: ref.model,
    split: ref.split,
    codec: codecKey(ref),
    params: codecParams(ref),
    kind: ref.kind,
    local,
    samples: { bytes: r.bytes, correct: r.correct, deviceMs, decodeMs },
    resultBytes: c.resultBytes,
    tailBatchMs: local ? undefined : tailBatchMs,
    deadlineMs: c.deadlineMs,
    measured: {
      headMs: head,
      tailMs: tail1,
      encodeMsMean: enc / n,
      decodeMsMean: dec / n,
      costClass,
      deviceCpuScale: c.devScale,
      edgeCpuScale: c.edgeScale,
      modelHash: row.model_hash,
      backend: c.backend,
      measuredSamples: n,
      sampleAccuracy: correct / n,
      bytesMean: bytesSum / n,
      bytesP95: quantileSorted(sorted, 0.95),
    },
    means: { deviceMs: head + enc / n, payloadBytes: local ? 0 : bytesSum / n, edgeMs: local ? 0 : tail1 + dec / n, resultBytes: local ? 0 : c.resultMean },
  };
}

function declaredRecord(d: Expanded['declared'][number], s: Scenario): PipelineRecord {
  const zero = () => 0;
  const sampler = (x: typeof d.deviceMs | undefined, round: boolean) => (x === undefined ? zero : makeSampler(x, round));
  const mean = (x: typeof d.deviceMs | undefined) => (x === undefined ? 0 : distributionMean(x));
  return {
    name: d.name,
    source: 'declared',
    description: d.description,
    model: '',
    split: '',
    codec: '',
    params: '',
    kind: 'declared',
    local: d.local,
    deviceMs: sampler(d.deviceMs, false),
    payloadBytes: sampler(d.payloadBytes, true),
    edgeMs: sampler(d.edgeMs, false),
    resultBytes: sampler(d.resultBytes, true),
    deadlineMs: d.deadlineMs ?? s.deadlineMs,
    declaredAccuracy: d.accuracy,
    means: { deviceMs: mean(d.deviceMs), payloadBytes: mean(d.payloadBytes), edgeMs: mean(d.edgeMs), resultBytes: mean(d.resultBytes) },
  };
}
