/**
 * Published batch-1 latency measurements the cost model is validated against, and the
 * comparison of predictions with them. `role` records whether a point was used to choose
 * any profile number (calibration) or only to test the model afterwards (held-out).
 */
import type { Precision } from '../model/analysis';
import { analyzeReference } from '../model/reference';
import { predictModel } from './cost';
import { loadProfile, PROFILES_DIR } from './profile';

/** One published measurement. */
export interface PublishedPoint {
  device: string;
  model: string;
  inputSize: number;
  precision: Precision;
  framework: string;
  measuredMs: number;
  source: string;
  role: 'held-out' | 'calibration';
}

/** The published points (batch 1). */
export const PUBLISHED_POINTS: PublishedPoint[] = [
  {
    device: 'jetson-nano', model: 'resnet18', inputSize: 224, precision: 'fp32', framework: 'TensorRT',
    measuredMs: 26, source: 'issue 4 reference figure (Jetson Nano, TensorRT FP32)', role: 'held-out',
  },
  {
    device: 'jetson-nano', model: 'resnet50', inputSize: 256, precision: 'fp32', framework: 'TensorRT',
    measuredMs: 79, source: 'issue 4 reference figure (Jetson Nano, TensorRT FP32, 256x256)', role: 'held-out',
  },
  {
    device: 'jetson-tx2', model: 'resnet50', inputSize: 224, precision: 'fp32', framework: 'TensorRT',
    measuredMs: 27.1, source: 'issue 4 reference figure (Jetson TX2, TensorRT FP32)', role: 'held-out',
  },
  {
    device: 'raspberry-pi-4', model: 'mobilenetv2', inputSize: 224, precision: 'fp32', framework: 'TFLite',
    measuredMs: 56.6, source: 'MLPerf Inference v1.0 open division, Raspberry Pi 4 @1.5 GHz, TFLite FP32', role: 'calibration',
  },
  {
    device: 'agx-xavier', model: 'resnet50', inputSize: 256, precision: 'fp32', framework: 'TensorRT',
    measuredMs: 9.9, source: 'issue 4 reference figure (AGX Xavier, TensorRT FP32, 256x256)', role: 'calibration',
  },
  // torch2trt README benchmark tables (NVIDIA-AI-IOT/torch2trt docs/benchmarks/*.md), TensorRT FP16,
  // batch 1, 224x224, "Latency (TensorRT)" column (includes the PyTorch-side call overhead).
  {
    device: 'jetson-nano', model: 'resnet18', inputSize: 224, precision: 'fp16', framework: 'TensorRT (torch2trt)',
    measuredMs: 11.4, source: 'torch2trt docs/benchmarks/jetson_nano.md', role: 'calibration',
  },
  {
    device: 'jetson-nano', model: 'resnet50', inputSize: 224, precision: 'fp16', framework: 'TensorRT (torch2trt)',
    measuredMs: 29.8, source: 'torch2trt docs/benchmarks/jetson_nano.md', role: 'calibration',
  },
  {
    device: 'jetson-nano', model: 'vgg16', inputSize: 224, precision: 'fp16', framework: 'TensorRT (torch2trt)',
    measuredMs: 85.1, source: 'torch2trt docs/benchmarks/jetson_nano.md', role: 'calibration',
  },
  {
    device: 'agx-xavier', model: 'resnet18', inputSize: 224, precision: 'fp16', framework: 'TensorRT (torch2trt)',
    measuredMs: 1.64, source: 'torch2trt docs/benchmarks/jetson_xavier.md', role: 'calibration',
  },
  {
    device: 'agx-xavier', model: 'resnet50', inputSize: 224, precision: 'fp16', framework: 'TensorRT (torch2trt)',
    measuredMs: 3.37, source: 'torch2trt docs/benchmarks/jetson_xavier.md', role: 'calibration',
  },
  {
    device: 'agx-xavier', model: 'vgg16', inputSize: 224, precision: 'fp16', framework: 'TensorRT (torch2trt)',
    measuredMs: 7.46, source: 'torch2trt docs/benchmarks/jetson_xavier.md', role: 'calibration',
  },
  {
    device: 'agx-xavier', model: 'mobilenetv2', inputSize: 224, precision: 'fp16', framework: 'TensorRT (torch2trt)',
    measuredMs: 1.67, source: 'torch2trt docs/benchmarks/jetson_xavier.md', role: 'calibration',
  },
];

/** A published point with the prediction and its signed error. */
export interface ValidationRow extends PublishedPoint {
  predictedMs: number;
  /** (predicted - measured) / measured, in percent. */
  errorPct: number;
}

/** Predicts every published point with the shipped profiles. */
export function validatePublished(points = PUBLISHED_POINTS, profilesDir = PROFILES_DIR): ValidationRow[] {
  return points.map((p) => {
    const profile = loadProfile(p.device, profilesDir);
    const cost = predictModel(analyzeReference(p.model, p.inputSize, p.precision), profile, { precision: p.precision });
    return { ...p, predictedMs: cost.totalMs, errorPct: ((cost.totalMs - p.measuredMs) / p.measuredMs) * 100 };
  });
}

/** Median of absolute values. */
export function medianAbs(values: number[]): number {
  const a = values.map(Math.abs).sort((x, y) => x - y);
  if (a.length === 0) return NaN;
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
}
