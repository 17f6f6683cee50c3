import type { LinkStats } from '../network/link';
import type { PipelineRun } from '../sim/system';
import { RequestStatus } from '../sim/requests';
import { SPLITSIM_VERSION } from '../util/version';
import { batchMeansHalfWidth, mean, quantileSorted, sampleStd } from './stats';

/** One row of summary.csv: column name → value (NaN means "not defined", written empty). */
export type SummaryRow = Record<string, string | number>;

/** Columns every summary row has, in CSV order (pipeline metadata columns follow). */
export const SUMMARY_COLUMNS = [
  'scenario',
  'pipeline',
  'seed',
  'requests',
  'completed',
  'dropped',
  'in_system',
  'throughput_rps',
  'e2e_mean_ms',
  'e2e_p50_ms',
  'e2e_p95_ms',
  'e2e_p99_ms',
  'e2e_std_ms',
  'e2e_ci95_ms',
  'device_queue_ms',
  'device_ms',
  'uplink_ms',
  'edge_queue_ms',
  'edge_ms',
  'downlink_ms',
  'deadline_ms',
  'deadline_miss_ratio',
  'accuracy',
  'accuracy_ci95',
  'device_energy_mj',
  'mean_in_system',
  'edge_utilization',
  'payload_bytes_mean',
  'result_bytes_mean',
  'uplink_payloads',
  'uplink_bytes',
  'uplink_packets',
  'uplink_header_bytes',
  'uplink_wire_bytes',
  'uplink_packets_lost',
  'uplink_packets_dropped',
  'uplink_retransmissions',
  'uplink_failed',
  'downlink_payloads',
  'downlink_bytes',
  'downlink_packets',
  'downlink_header_bytes',
  'downlink_wire_bytes',
  'downlink_packets_lost',
  'downlink_packets_dropped',
  'downlink_retransmissions',
  'downlink_failed',
  'warmup_requests',
  'window_ms',
  'sim_end_ms',
  'events',
  'splitsim_version',
] as const;

/** Number of batches for the batch-means confidence intervals. */
export const CI_BATCHES = 20;

function linkColumns(prefix: string, s: LinkStats): SummaryRow {
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

/**
 * Statistics of one pipeline's run over its measured requests (those after the warm-up).
 * Latencies and stage means are over completed requests, so the stage means add up to the
 * end-to-end mean; throughput is completed requests per second of the measurement window
 * (end of warm-up to end of run); the deadline miss ratio counts drops as misses.
 */
export function summarizeRun(run: PipelineRun): SummaryRow {
  const T = run.requests;
  const first = run.firstMeasuredId;
  const n = T.count - first;
  let completed = 0, dropped = 0, inSystem = 0;
  for (let i = first; i < T.count; i++) {
    const s = T.status[i];
    if (s === RequestStatus.Completed) completed++;
    else if (s === RequestStatus.InSystem) inSystem++;
    else dropped++;
  }
  const e2e = new Float64Array(completed);
  const stage = {
    device_queue_ms: 0, device_ms: 0, uplink_ms: 0, edge_queue_ms: 0, edge_ms: 0, downlink_ms: 0,
  };
  let payload = 0, result = 0;
  const deadline = run.pipeline.deadlineMs;
  let misses = dropped;
  for (let i = first, k = 0; i < T.count; i++) {
    payload += T.payloadBytes[i];
    result += T.resultBytes[i];
    if (T.status[i] !== RequestStatus.Completed) continue;
    const a = T.arrivalMs[i], ds = T.deviceStartMs[i], de = T.deviceEndMs[i], ea = T.edgeArrivalMs[i];
    const es = T.edgeStartMs[i], ee = T.edgeEndMs[i], end = T.endMs[i];
    stage.device_queue_ms += ds - a;
    stage.device_ms += de - ds;
    stage.uplink_ms += ea - de;
    stage.edge_queue_ms += es - ea;
    stage.edge_ms += ee - es;
    stage.downlink_ms += end - ee;
    const lat = end - a;
    e2e[k++] = lat;
    if (deadline !== undefined && lat > deadline) misses++;
  }
  for (const key of Object.keys(stage) as Array<keyof typeof stage>) stage[key] = completed > 0 ? stage[key] / completed : NaN;
  const sorted = Float64Array.from(e2e).sort();
  const windowMs = run.endMs - run.warmupEndMs;
  const finished = completed + dropped;

  const row: SummaryRow = {
    scenario: run.scenarioName,
    pipeline: run.pipeline.name,
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
    deadline_miss_ratio: deadline !== undefined && finished > 0 ? misses / finished : NaN,
    // Measured pipelines know their accuracy (tail on decoded data) and the device's energy
    // per request (predicted compute time x active power); declared ones leave these empty.
    accuracy: metaNumber(run.pipeline.meta, 'accuracy'),
    accuracy_ci95: metaNumber(run.pipeline.meta, 'accuracy_ci95'),
    device_energy_mj: metaNumber(run.pipeline.meta, 'device_energy_mj'),
    mean_in_system: windowMs > 0 ? run.areaInSystemMeasuredMs / windowMs : NaN,
    edge_utilization: run.endMs > 0 ? run.edgeBusyMs / (run.edgeWorkers * run.endMs) : NaN,
    payload_bytes_mean: n > 0 ? payload / n : NaN,
    result_bytes_mean: n > 0 ? result / n : NaN,
    ...linkColumns('uplink', run.uplink),
    ...linkColumns('downlink', run.downlink),
    warmup_requests: first,
    window_ms: windowMs,
    sim_end_ms: run.endMs,
    events: run.events,
    splitsim_version: SPLITSIM_VERSION,
  };
  for (const [k, v] of Object.entries(run.pipeline.meta)) row[`meta_${k}`] = v;
  return row;
}

function metaNumber(meta: Record<string, string | number>, key: string): number {
  const v = meta[key];
  return typeof v === 'number' ? v : NaN;
}

/** Column order for a set of rows: the fixed columns, then every metadata column seen. */
export function summaryColumns(rows: SummaryRow[]): string[] {
  const extra = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r)) if (!(SUMMARY_COLUMNS as readonly string[]).includes(k)) extra.add(k);
  return [...SUMMARY_COLUMNS, ...extra];
}
