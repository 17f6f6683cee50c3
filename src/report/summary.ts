import type { LinkStats } from '../network/link';
import type { OfferedLoad } from '../sim/capacity';
import type { PipelineRun } from '../sim/system';
import { SPLITSIM_VERSION } from '../util/version';
import { batchMeansHalfWidth, mean, pairedDifference, quantileSorted, sampleStd, wilsonHalfWidth95 } from './stats';

/** Columns every summary row has, in CSV order. */
export const SUMMARY_COLUMNS = [
  'scenario', 'rank', 'pipeline', 'best', 'pareto', 'feasible', 'violates',
  'source', 'kind', 'model', 'split', 'codec', 'params', 'description',
  'seed', 'requests', 'completed', 'dropped', 'in_system', 'throughput_rps',
  'e2e_mean_ms', 'e2e_p50_ms', 'e2e_p95_ms', 'e2e_p99_ms', 'e2e_std_ms', 'e2e_ci95_ms',
  'device_queue_ms', 'device_ms', 'uplink_ms', 'edge_queue_ms', 'edge_ms', 'downlink_ms',
  'deadline_ms', 'deadline_miss_ratio',
  'accuracy', 'accuracy_ci95', 'accuracy_ontime', 'accuracy_ontime_ci95',
  'reference', 'accuracy_diff', 'accuracy_diff_ci95', 'mcnemar_p',
  'bytes_mean', 'bytes_p95',
  'energy_mj', 'energy_compute_mj', 'energy_radio_mj', 'radio_active_ms', 'radio_promotions', 'device_energy_mj',
  'head_ms', 'tail_ms', 'encode_ms', 'decode_ms',
  'device_load', 'uplink_load', 'edge_load', 'downlink_load',
  'mean_in_system', 'edge_utilization', 'edge_batch_mean',
  'payload_bytes_mean', 'result_bytes_mean',
  'uplink_payloads', 'uplink_bytes', 'uplink_packets', 'uplink_header_bytes', 'uplink_wire_bytes', 'uplink_packets_lost',
  'uplink_packets_dropped', 'uplink_retransmissions', 'uplink_failed',
  'downlink_payloads', 'downlink_bytes', 'downlink_packets', 'downlink_header_bytes', 'downlink_wire_bytes',
  'downlink_packets_lost', 'downlink_packets_dropped', 'downlink_retransmissions', 'downlink_failed',
  'device_profile', 'edge_profile', 'radio', 'measured_samples', 'backend', 'model_hash',
  'warmup_requests', 'window_ms', 'sim_end_ms', 'events', 'splitsim_version',
] as const;

/** One row of summary.csv: column name → value (NaN means "not defined", written empty). */
export type SummaryRow = Record<(typeof SUMMARY_COLUMNS)[number], string | number>;

/** Number of batches for the batch-means confidence intervals. */
export const CI_BATCHES = 20;

function linkColumns(prefix: 'uplink' | 'downlink', s: LinkStats) {
  return {
    [`${prefix}_payloads`]: s.payloads,
    [`${prefix}_bytes`]: s.payloadBytes,
    [`${prefix}_packets`]: s.packets,
    [`${prefix}_header_bytes`]: s.headerBytes,
    [`${prefix}_wire_bytes`]: s.wireBytes,
    [`${prefix}_packets_lost`]: s.packetsLost,
    [`${prefix}_packets_dropped`]: s.packetsDropped,
    [`${prefix}_retransmissions`]: s.retransmissions,
    [`${prefix}_failed`]: s.failed,
  };
}

/** What a row needs besides the run: the paired reference, offered loads, profile names. */
export interface SummaryContext {
  /** The reference pipeline's per-sample correctness (same samples as measured pipelines). */
  reference?: { name: string; correct: Uint8Array };
  load?: OfferedLoad;
  deviceProfile?: string;
  edgeProfile?: string;
  radio?: string;
}

/**
 * Statistics of one pipeline's run over its measured requests (those after the warm-up).
 * Latencies and stage means are over completed requests, so the stage means add up to the
 * end-to-end mean; throughput is completed requests per second of the measurement window;
 * the deadline miss ratio counts drops as misses. Accuracy is the share of completed
 * requests whose sample the pipeline classifies correctly; on-time accuracy the share of all
 * requests that are correct and on time. Their CIs are Wilson intervals over at most as
 * many requests as there are measured samples (requests reuse samples). Energy is per
 * request: the devices' compute and radio energy over the whole run / all its requests.
 */
export function summarizeRun(run: PipelineRun, ctx: SummaryContext = {}): SummaryRow {
  const L = run.log;
  const p = run.pipeline;
  const first = run.firstMeasuredId;
  const n = L.n;
  const completed = L.completed, dropped = L.dropped, inSystem = L.inSystem;
  const e2e = L.e2e.values();
  const stage = { ...L.stage };
  const payload = L.payloadSum, result = L.resultSum, correct = L.correct, ontime = L.onTime;
  const batchSum = L.batchSum, batched = L.batched;
  const deadline = p.deadlineMs;
  const misses = dropped + L.late;
  for (const key of Object.keys(stage) as Array<keyof typeof stage>) stage[key] = completed > 0 ? stage[key] / completed : NaN;
  const sorted = Float64Array.from(e2e).sort();
  const windowMs = run.endMs - run.warmupEndMs;
  const finished = completed + dropped;
  const missRatio = deadline !== undefined && finished > 0 ? misses / finished : NaN;

  // Accuracy: measured pipelines from their samples' outcomes, declared ones as stated.
  const samples = p.samples?.bytes.length ?? 0;
  let accuracy = NaN, accuracyCi = NaN, ontimeAcc = NaN, ontimeCi = NaN;
  if (samples > 0) {
    accuracy = completed > 0 ? correct / completed : NaN;
    accuracyCi = completed > 0 ? wilsonHalfWidth95(Math.round(accuracy * Math.min(completed, samples)), Math.min(completed, samples)) : NaN;
    ontimeAcc = n > 0 ? ontime / n : NaN;
    ontimeCi = n > 0 ? wilsonHalfWidth95(Math.round(ontimeAcc * Math.min(n, samples)), Math.min(n, samples)) : NaN;
  } else if (p.declaredAccuracy !== undefined) {
    accuracy = p.declaredAccuracy;
    // Assumes correctness independent of lateness: accuracy x share of requests done on time.
    ontimeAcc = n > 0 ? (p.declaredAccuracy * (completed - (misses - dropped))) / n : NaN;
  }
  const paired = ctx.reference && p.samples && ctx.reference.correct.length === samples ? pairedDifference(p.samples.correct, ctx.reference.correct) : undefined;

  const requestsAll = run.arrivals;
  const energyCompute = requestsAll > 0 ? run.energy.computeMj / requestsAll : NaN;
  const radio = run.energy.radio;
  // Without a radio model the radio's energy is unknown, except that nothing is sent locally.
  const energyRadio = radio && requestsAll > 0 ? radio.energyMj / requestsAll : p.local ? 0 : NaN;
  const m = p.measured;
  const activeW = run.power?.activeW ?? NaN;
  const payloadSorted = L.payloads.values().sort();

  return {
    scenario: run.scenarioName,
    rank: NaN,
    pipeline: p.name,
    best: '',
    pareto: '',
    feasible: '',
    violates: '',
    source: p.source,
    kind: p.kind,
    model: p.model,
    split: p.split,
    codec: p.codec,
    params: p.params,
    description: p.description ?? '',
    seed: run.seed,
    requests: n,
    completed,
    dropped,
    in_system: inSystem,
    throughput_rps: windowMs > 0 ? (completed * 1000) / windowMs : NaN,
    e2e_mean_ms: mean(e2e),
    e2e_p50_ms: quantileSorted(sorted, 0.5),
    e2e_p95_ms: quantileSorted(sorted, 0.95),
    e2e_p99_ms: quantileSorted(sorted, 0.99),
    e2e_std_ms: sampleStd(e2e),
    e2e_ci95_ms: batchMeansHalfWidth(e2e, CI_BATCHES).halfWidth,
    ...stage,
    deadline_ms: deadline ?? NaN,
    deadline_miss_ratio: missRatio,
    accuracy,
    accuracy_ci95: accuracyCi,
    accuracy_ontime: ontimeAcc,
    accuracy_ontime_ci95: ontimeCi,
    reference: paired ? ctx.reference!.name : '',
    accuracy_diff: paired ? paired.diff : NaN,
    accuracy_diff_ci95: paired ? paired.ci95 : NaN,
    mcnemar_p: paired ? paired.mcnemarP : NaN,
    bytes_mean: n > 0 ? payload / n : NaN,
    bytes_p95: quantileSorted(payloadSorted, 0.95),
    energy_mj: energyCompute + energyRadio,
    energy_compute_mj: energyCompute,
    energy_radio_mj: energyRadio,
    radio_active_ms: radio && requestsAll > 0 ? radio.activeMs / requestsAll : NaN,
    radio_promotions: radio ? radio.promotions : NaN,
    device_energy_mj: activeW * (n > 0 ? L.deviceMsSum / n : NaN),
    head_ms: m ? m.headMs : NaN,
    tail_ms: m ? m.tailMs : NaN,
    encode_ms: m ? m.encodeMsMean : NaN,
    decode_ms: m ? m.decodeMsMean : NaN,
    device_load: ctx.load?.device ?? NaN,
    uplink_load: ctx.load?.uplink ?? NaN,
    edge_load: ctx.load?.edge ?? NaN,
    downlink_load: ctx.load?.downlink ?? NaN,
    mean_in_system: windowMs > 0 ? run.areaInSystemMeasuredMs / windowMs : NaN,
    edge_utilization: run.endMs > 0 ? run.edgeBusyMs / (run.edgeWorkers * run.endMs) : NaN,
    edge_batch_mean: batched > 0 ? batchSum / batched : NaN,
    payload_bytes_mean: n > 0 ? payload / n : NaN,
    result_bytes_mean: n > 0 ? result / n : NaN,
    ...(linkColumns('uplink', run.uplink) as Record<string, number>),
    ...(linkColumns('downlink', run.downlink) as Record<string, number>),
    device_profile: ctx.deviceProfile ?? '',
    edge_profile: p.source === 'measured' ? ctx.edgeProfile ?? '' : '',
    radio: ctx.radio ?? '',
    measured_samples: m ? m.measuredSamples : NaN,
    backend: m ? m.backend : '',
    model_hash: m ? m.modelHash : '',
    warmup_requests: first,
    window_ms: windowMs,
    sim_end_ms: run.endMs,
    events: run.events,
    splitsim_version: SPLITSIM_VERSION,
  } as SummaryRow;
}

/** Column order of summary.csv. */
export function summaryColumns(): string[] {
  return [...SUMMARY_COLUMNS];
}
