/**
 * live.csv: per pipeline and stage, the measured timeline of a live run next to the
 * simulator's for the same scenario, requests and samples. Both come as request tables
 * (simulator history, live device log), and one function reads the stages of both, so the
 * comparison is column for column.
 */
import { RequestStatus, type RequestTable } from '../sim/requests';
import { mean, quantileSorted } from '../report/stats';

/** Stages of live.csv, in order: their times add up to e2e. */
export const STAGES = ['device', 'uplink', 'edge_queue', 'edge', 'downlink', 'e2e'] as const;
export type Stage = (typeof STAGES)[number];

/** Columns of live.csv. */
export const LIVE_COLUMNS = [
  'pipeline', 'stage', 'requests', 'measured_mean_ms', 'predicted_mean_ms', 'error_mean_pct',
  'measured_p95_ms', 'predicted_p95_ms', 'error_p95_pct', 'measured_p50_ms', 'predicted_p50_ms',
  'measured_edge_utilization', 'predicted_edge_utilization',
  'measured_accuracy', 'predicted_accuracy', 'outcome_mismatches', 'payload_mismatches', 'not_completed',
  'device_backend', 'server_backend', 'measurement_backend',
] as const;

/** Each completed measured request's stage times (ms), by stage. */
export function stageTimes(T: RequestTable): Record<Stage, Float64Array> & { index: Int32Array } {
  const idx: number[] = [];
  for (let i = 0; i < T.count; i++) if (T.measured[i] && T.status[i] === RequestStatus.Completed) idx.push(i);
  const out = { index: Int32Array.from(idx) } as Record<Stage, Float64Array> & { index: Int32Array };
  const f = (g: (i: number) => number) => Float64Array.from(idx, g);
  out.device = f((i) => T.deviceEndMs[i] - T.arrivalMs[i]);
  out.uplink = f((i) => T.edgeArrivalMs[i] - T.deviceEndMs[i]);
  out.edge_queue = f((i) => T.edgeStartMs[i] - T.edgeArrivalMs[i]);
  out.edge = f((i) => T.edgeEndMs[i] - T.edgeStartMs[i]);
  out.downlink = f((i) => T.endMs[i] - T.edgeEndMs[i]);
  out.e2e = f((i) => T.endMs[i] - T.arrivalMs[i]);
  return out;
}

const pct = (measured: number, predicted: number) => (predicted !== 0 ? ((measured - predicted) / predicted) * 100 : measured === 0 ? 0 : NaN);
const p = (xs: Float64Array, q: number) => (xs.length > 0 ? quantileSorted(Float64Array.from(xs).sort(), q) : NaN);

/** What the rows of one pipeline need besides the two tables. */
export interface PipelineComparison {
  pipeline: string;
  measured: RequestTable;
  predicted: RequestTable;
  measuredUtilization: number;
  predictedUtilization: number;
}

/** Accuracy agreement of the same requests: live class vs the measurement's outcome. */
export function agreement(measured: RequestTable, predicted: RequestTable): { measuredAccuracy: number; predictedAccuracy: number; outcomeMismatches: number; payloadMismatches: number; compared: number } {
  let mc = 0, pc = 0, om = 0, pm = 0, n = 0;
  for (let i = 0; i < Math.min(measured.count, predicted.count); i++) {
    if (!measured.measured[i] || measured.status[i] !== RequestStatus.Completed) continue;
    if (measured.id[i] !== predicted.id[i] || measured.sample[i] !== predicted.sample[i]) throw new Error(`request ${i}: live and predicted runs carry different samples`);
    n++;
    mc += measured.correct[i] === 1 ? 1 : 0;
    pc += predicted.correct[i] === 1 ? 1 : 0;
    if (measured.correct[i] !== predicted.correct[i]) om++;
    if (measured.payloadBytes[i] !== predicted.payloadBytes[i]) pm++;
  }
  return { measuredAccuracy: n > 0 ? mc / n : NaN, predictedAccuracy: n > 0 ? pc / n : NaN, outcomeMismatches: om, payloadMismatches: pm, compared: n };
}

/** The live.csv rows of one pipeline (one per stage). */
export function comparisonRows(c: PipelineComparison): Array<Record<string, string | number>> {
  const m = stageTimes(c.measured);
  const q = stageTimes(c.predicted);
  const a = agreement(c.measured, c.predicted);
  let notCompleted = 0;
  for (let i = 0; i < c.measured.count; i++) if (c.measured.measured[i] && c.measured.status[i] !== RequestStatus.Completed) notCompleted++;
  return STAGES.map((stage) => {
    const mm = mean(m[stage]), pm = mean(q[stage]);
    const m95 = p(m[stage], 0.95), p95 = p(q[stage], 0.95);
    return {
      pipeline: c.pipeline, stage, requests: m[stage].length,
      measured_mean_ms: mm, predicted_mean_ms: pm, error_mean_pct: pct(mm, pm),
      measured_p95_ms: m95, predicted_p95_ms: p95, error_p95_pct: pct(m95, p95),
      measured_p50_ms: p(m[stage], 0.5), predicted_p50_ms: p(q[stage], 0.5),
      measured_edge_utilization: c.measuredUtilization, predicted_edge_utilization: c.predictedUtilization,
      measured_accuracy: a.measuredAccuracy, predicted_accuracy: a.predictedAccuracy,
      outcome_mismatches: a.outcomeMismatches, payload_mismatches: a.payloadMismatches, not_completed: notCompleted,
    };
  });
}
