/** Aggregates per-sample results into one row per pipeline. */
import { classCost, loadCodecCosts, predictCostMs } from '../codecs/cost';
import { entryOf, specParamsOf } from '../codecs/registry';
import { codecKey, codecParams, pipelineName, type PipelineRef } from '../pipelines/ref';
import { mean, quantileSorted, wilsonHalfWidth95 } from '../report/stats';

export { wilsonHalfWidth95 };
import type { SampleResults } from './cache';

/** Columns of measurements.csv, in order. */
export const MEASUREMENT_COLUMNS = [
  'pipeline', 'model', 'split', 'codec', 'params', 'kind', 'samples',
  'accuracy', 'accuracy_ci95', 'bytes_mean', 'bytes_p50', 'bytes_p95', 'bytes_min', 'bytes_max',
  'bytes_estimated_mean', 'elements', 'encode_ms_host', 'decode_ms_host', 'backend', 'model_hash',
] as const;

/** One row of measurements.csv. */
export interface MeasurementRow {
  pipeline: string;
  model: string;
  split: string;
  codec: string;
  params: string;
  kind: string;
  samples: number;
  accuracy: number;
  accuracy_ci95: number;
  bytes_mean: number;
  bytes_p50: number;
  bytes_p95: number;
  bytes_min: number;
  bytes_max: number;
  /** NaN where the codec has no entropy model (written as an empty cell). */
  bytes_estimated_mean: number;
  /** Values coded per sample (pixels or tensor elements; 0 for device-only). */
  elements: number;
  /**
   * Mean encode/decode CPU time per sample on the calibration host, from the codec cost
   * model (profiles/codecs/host.yaml) and the measured bytes: data, not a clock reading.
   */
  encode_ms_host: number;
  decode_ms_host: number;
  backend: string;
  model_hash: string;
}

/** Mean modelled host codec times of a pipeline's samples (NaN when the class is not calibrated). */
export function hostCodecMs(ref: PipelineRef, r: SampleResults): { encode: number; decode: number } {
  if (!ref.codec) return { encode: 0, decode: 0 };
  const costs = loadCodecCosts();
  const cls = entryOf(ref.codec).costClass(specParamsOf(ref.codec));
  if (!costs.classes[cls]) return { encode: NaN, decode: NaN };
  const c = classCost(costs, cls);
  let e = 0, d = 0;
  for (let i = 0; i < r.bytes.length; i++) {
    e += predictCostMs(c.encode, r.elements, r.bytes[i]);
    d += predictCostMs(c.decode, r.elements, r.bytes[i]);
  }
  return { encode: e / r.bytes.length, decode: d / r.bytes.length };
}

/** One pipeline's row: accuracy, CI, byte statistics and modelled host codec times. */
export function aggregate(ref: PipelineRef, r: SampleResults, backend: string, modelHash: string): MeasurementRow {
  const n = r.bytes.length;
  let correct = 0;
  for (let i = 0; i < n; i++) correct += r.correct[i];
  const sorted = Float64Array.from(r.bytes).sort();
  const host = hostCodecMs(ref, r);
  return {
    pipeline: pipelineName(ref),
    model: ref.model,
    split: ref.split,
    codec: codecKey(ref),
    params: codecParams(ref),
    kind: ref.kind,
    samples: n,
    accuracy: n ? correct / n : NaN,
    accuracy_ci95: wilsonHalfWidth95(correct, n),
    bytes_mean: mean(r.bytes),
    bytes_p50: quantileSorted(sorted, 0.5),
    bytes_p95: quantileSorted(sorted, 0.95),
    bytes_min: n ? sorted[0] : NaN,
    bytes_max: n ? sorted[n - 1] : NaN,
    bytes_estimated_mean: r.estimatedBytes ? mean(r.estimatedBytes) : NaN,
    elements: r.elements,
    encode_ms_host: host.encode,
    decode_ms_host: host.decode,
    backend,
    model_hash: modelHash,
  };
}
