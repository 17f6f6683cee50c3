/** Aggregates per-sample results into one row per pipeline. */
import { mean, quantileSorted } from '../report/stats';
import type { SampleResults } from './cache';

/** Columns of measurements.csv, in order. */
export const MEASUREMENT_COLUMNS = [
  'model', 'split', 'codec', 'params', 'kind', 'samples',
  'accuracy', 'accuracy_ci95', 'bytes_mean', 'bytes_p50', 'bytes_p95', 'bytes_min', 'bytes_max',
  'bytes_estimated_mean', 'encode_ms_mean', 'decode_ms_mean', 'backend', 'model_hash',
] as const;

/** One row of measurements.csv. */
export interface MeasurementRow {
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
  encode_ms_mean: number;
  decode_ms_mean: number;
  backend: string;
  model_hash: string;
}

/**
 * Half-width of the 95% Wilson score interval of a proportion: unlike the normal
 * approximation it stays sensible near 0% and 100% accuracy and for small samples.
 */
export function wilsonHalfWidth95(successes: number, n: number): number {
  if (n === 0) return NaN;
  const z = 1.959963984540054;
  const p = successes / n;
  return (z / (1 + (z * z) / n)) * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
}

/** Accuracy, CI, byte statistics and mean codec times of one pipeline's samples. */
export function aggregate(r: SampleResults): Omit<MeasurementRow, 'model' | 'split' | 'codec' | 'params' | 'kind' | 'backend' | 'model_hash'> {
  const n = r.bytes.length;
  let correct = 0;
  for (let i = 0; i < n; i++) correct += r.correct[i];
  const sorted = Float64Array.from(r.bytes).sort();
  return {
    samples: n,
    accuracy: n ? correct / n : NaN,
    accuracy_ci95: wilsonHalfWidth95(correct, n),
    bytes_mean: mean(r.bytes),
    bytes_p50: quantileSorted(sorted, 0.5),
    bytes_p95: quantileSorted(sorted, 0.95),
    bytes_min: n ? sorted[0] : NaN,
    bytes_max: n ? sorted[n - 1] : NaN,
    bytes_estimated_mean: r.estimatedBytes ? mean(r.estimatedBytes) : NaN,
    encode_ms_mean: mean(r.encodeMs),
    decode_ms_mean: mean(r.decodeMs),
  };
}
