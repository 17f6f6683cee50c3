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
  /** The profile runtime that matches how the figure was measured (default: the profile's). */
  runtime?: string;
  measuredMs: number;
  source: string;
  role: 'held-out' | 'calibration';
  /** Public batch-1 figure of a data-centre GPU or a Jetson AGX at FP16/INT8 (issue 13's check). */
  gpuCheck?: boolean;
}

const MLPERF = (round: string, system: string): string =>
  `MLPerf Inference ${round} closed, NVIDIA ${system}, ResNet-50 v1.5 SingleStream, TensorRT INT8, mean latency ` +
  `(mlcommons/inference_results_${round}/closed/NVIDIA/results/${system}/resnet50/SingleStream/performance/run_1/mlperf_log_summary.txt)`;

/** An MLPerf ResNet-50 SingleStream figure: batch 1, INT8, held out (no profile number was chosen with it). */
function mlperf(device: string, round: string, system: string, measuredMs: number, note = ''): PublishedPoint {
  return {
    device, model: 'resnet50', inputSize: 224, precision: 'int8', framework: 'TensorRT (MLPerf harness)', runtime: 'tensorrt',
    measuredMs, source: MLPERF(round, system) + note, role: 'held-out', gpuCheck: true,
  };
}

/** The published points (batch 1). */
export const PUBLISHED_POINTS: PublishedPoint[] = [
  {
    device: 'jetson-nano', model: 'resnet18', inputSize: 224, precision: 'fp32', framework: 'TensorRT', runtime: 'torch2trt',
    measuredMs: 26, source: 'issue 4 reference figure (Jetson Nano, TensorRT FP32)', role: 'held-out',
  },
  {
    device: 'jetson-nano', model: 'resnet50', inputSize: 256, precision: 'fp32', framework: 'TensorRT', runtime: 'torch2trt',
    measuredMs: 79, source: 'issue 4 reference figure (Jetson Nano, TensorRT FP32, 256x256)', role: 'held-out',
  },
  {
    device: 'jetson-tx2', model: 'resnet50', inputSize: 224, precision: 'fp32', framework: 'TensorRT', runtime: 'torch2trt',
    measuredMs: 27.1, source: 'issue 4 reference figure (Jetson TX2, TensorRT FP32)', role: 'held-out',
  },
  {
    device: 'raspberry-pi-4', model: 'mobilenetv2', inputSize: 224, precision: 'fp32', framework: 'TFLite',
    measuredMs: 56.6, source: 'MLPerf Inference v1.0 open division, Raspberry Pi 4 @1.5 GHz, TFLite FP32', role: 'calibration',
  },
  {
    device: 'agx-xavier', model: 'resnet50', inputSize: 256, precision: 'fp32', framework: 'TensorRT', runtime: 'torch2trt',
    measuredMs: 9.9, source: 'issue 4 reference figure (AGX Xavier, TensorRT FP32, 256x256)', role: 'calibration',
  },
  // torch2trt README benchmark tables (NVIDIA-AI-IOT/torch2trt docs/benchmarks/*.md), TensorRT FP16,
  // batch 1, 224x224, "Latency (TensorRT)" column (includes the PyTorch-side call overhead).
  {
    device: 'jetson-nano', model: 'resnet18', inputSize: 224, precision: 'fp16', framework: 'TensorRT (torch2trt)', runtime: 'torch2trt',
    measuredMs: 11.4, source: 'torch2trt docs/benchmarks/jetson_nano.md', role: 'calibration',
  },
  {
    device: 'jetson-nano', model: 'resnet50', inputSize: 224, precision: 'fp16', framework: 'TensorRT (torch2trt)', runtime: 'torch2trt',
    measuredMs: 29.8, source: 'torch2trt docs/benchmarks/jetson_nano.md', role: 'calibration',
  },
  {
    device: 'jetson-nano', model: 'vgg16', inputSize: 224, precision: 'fp16', framework: 'TensorRT (torch2trt)', runtime: 'torch2trt',
    measuredMs: 85.1, source: 'torch2trt docs/benchmarks/jetson_nano.md', role: 'calibration',
  },
  {
    device: 'agx-xavier', model: 'resnet18', inputSize: 224, precision: 'fp16', framework: 'TensorRT (torch2trt)', runtime: 'torch2trt',
    measuredMs: 1.64, source: 'torch2trt docs/benchmarks/jetson_xavier.md', role: 'calibration',
  },
  {
    device: 'agx-xavier', model: 'resnet50', inputSize: 224, precision: 'fp16', framework: 'TensorRT (torch2trt)', runtime: 'torch2trt',
    measuredMs: 3.37, source: 'torch2trt docs/benchmarks/jetson_xavier.md', role: 'calibration',
  },
  {
    device: 'agx-xavier', model: 'vgg16', inputSize: 224, precision: 'fp16', framework: 'TensorRT (torch2trt)', runtime: 'torch2trt',
    measuredMs: 7.46, source: 'torch2trt docs/benchmarks/jetson_xavier.md', role: 'calibration',
  },
  {
    device: 'agx-xavier', model: 'mobilenetv2', inputSize: 224, precision: 'fp16', framework: 'TensorRT (torch2trt)', runtime: 'torch2trt',
    measuredMs: 1.67, source: 'torch2trt docs/benchmarks/jetson_xavier.md', role: 'calibration',
  },
  // Every NVIDIA closed-division ResNet-50 SingleStream result read for these devices (issue 13);
  // the harness is C++ TensorRT, hence the profiles' tensorrt runtime.
  mlperf('t4', 'v0.7', 'T4x1_TRT', 1.000),
  mlperf('a100', 'v2.0', 'DGX-A100_A100-SXM-80GBx1_TRT', 0.463),
  mlperf('a100', 'v1.0', 'A100-PCIex1_TRT', 0.497, '; A100 PCIe 40 GB: same 108 SMs and clocks as the profile, 1.56 TB/s instead of 2.04'),
  mlperf('agx-xavier', 'v0.7', 'AGX_Xavier_TRT', 2.115),
  mlperf('agx-xavier', 'v1.0', 'AGX_Xavier_TRT', 1.951),
  mlperf('agx-xavier', 'v1.1', 'AGX_Xavier_TRT', 1.820),
  mlperf('agx-orin', 'v2.0', 'Orin_TRT', 0.692, '; Jetson AGX Orin developer kit (12 cores, 2048-core GPU)'),
  mlperf('agx-orin', 'v2.1', 'Orin_TRT', 0.642),
  mlperf('agx-orin', 'v3.0', 'Orin_TRT', 0.630),
  mlperf('agx-orin', 'v3.1', 'Orin_TRT', 0.636),
  { ...mlperf('jetson-xavier-nx', 'v1.0', 'Xavier_NX_TRT', 2.574), gpuCheck: false },
  // torch2trt's DLA benchmark page, "Heterogeneous Model" table, GPU rows (max_batch_size 1):
  // latency = 1 / FPS of sequential batch-1 inference.
  {
    device: 'jetson-xavier-nx', model: 'resnet18', inputSize: 224, precision: 'fp16', framework: 'TensorRT (torch2trt)', runtime: 'torch2trt',
    measuredMs: 1000 / 456.33, source: 'torch2trt docs/benchmarks/dla_benchmarks.md (Xavier NX, resnet18_fp16_gpu, 456.3 FPS)', role: 'held-out',
  },
  {
    device: 'jetson-xavier-nx', model: 'resnet18', inputSize: 224, precision: 'int8', framework: 'TensorRT (torch2trt)', runtime: 'torch2trt',
    measuredMs: 1000 / 793.29, source: 'torch2trt docs/benchmarks/dla_benchmarks.md (Xavier NX, resnet18_int8_gpu, 793.3 FPS)', role: 'held-out',
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
    const cost = predictModel(analyzeReference(p.model, p.inputSize, p.precision), profile, { precision: p.precision, runtime: p.runtime });
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
