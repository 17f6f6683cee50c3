import * as path from 'path';
import type { Sampler } from '../engine/distributions';
import { headLayers, predictLayers, sumMs } from '../hardware/cost';
import { analyzeModelSpec } from '../hardware/model-source';
import { loadProfile } from '../hardware/profile';
import type { ModelAnalysis } from '../model/analysis';
import { measureZoo, readZooIndex, DEFAULT_ZOO_DIR } from '../measure/measure';
import { INPUT_SPLIT, pipelineName, zooPipelines } from '../measure/pipelines';
import { UserError } from '../util/errors';

/** What a `source: measured` pipeline asks for (see config/scenario.ts). */
export interface MeasuredPipelineRequest {
  name: string;
  /** The measured pipeline, named as in measurements.csv: 'model/split/codec[params]'. */
  pipeline: string;
  /** Hardware profile of the device (runs the head and the encoder). */
  device: string;
  /** Hardware profile of the edge server (runs the decoder and the tail). */
  edge: string;
  /** Test images measured (a seeded subset; all 10,000 when 10000). */
  samples: number;
  measureSeed: number;
  /** Add the codec's encode/decode CPU time measured on this machine to device/edge time. */
  codecTime: 'host' | 'ignore';
  zooDir?: string;
}

/** The numbers a measured pipeline contributes to the simulation, per request. */
export interface MeasuredCosts {
  /** Per-sample payload bytes of the real bitstreams. */
  bytes: Uint32Array;
  /** Predicted head time on the device plus (optionally) measured encode time, ms. */
  deviceMs: number;
  /** Predicted tail time on the edge plus (optionally) measured decode time, ms. */
  edgeMs: number;
  meta: Record<string, string | number>;
}

/** Predicted time (ms) of the layers before/after `split` on one profile, fusion not crossing it. */
function splitTimes(analysis: ModelAnalysis, profileName: string, split: string): { headMs: number; tailMs: number; framework: string; activeW: number } {
  const profile = loadProfile(profileName);
  const outputs = new Set(analysis.outputs);
  const costs = predictLayers(analysis.layers, profile, { outputs, boundary: split === INPUT_SPLIT ? undefined : new Set([split]) });
  if (split === INPUT_SPLIT) return { headMs: 0, tailMs: sumMs(costs), framework: profile.framework, activeW: profile.power.activeW };
  if (!analysis.layers.some((l) => l.name === split)) {
    throw new UserError(`split point '${split}' is not a layer of model '${analysis.name}'`);
  }
  const head = headLayers(analysis, split);
  let headMs = 0;
  let tailMs = 0;
  for (const c of costs) (head.has(c.name) ? (headMs += c.timeMs) : (tailMs += c.timeMs));
  return { headMs, tailMs, framework: profile.framework, activeW: profile.power.activeW };
}

function mean(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return a.length ? s / a.length : NaN;
}

/**
 * Measures (or reads from the cache) one zoo pipeline on real test images and predicts its
 * head and tail times on the named device and edge profiles.
 */
export async function measuredCosts(req: MeasuredPipelineRequest, log: (msg: string) => void = () => undefined): Promise<MeasuredCosts> {
  const parts = req.pipeline.split('/');
  if (parts.length < 3) {
    throw new UserError(`pipeline '${req.name}': field 'pipeline': expected 'model/split/codec[params]' as in measurements.csv, got '${req.pipeline}'`);
  }
  const [model, split] = parts;
  const zooDir = req.zooDir ?? DEFAULT_ZOO_DIR;
  // Profiles and names first: a misspelled device or pipeline fails before any model runs.
  loadProfile(req.device);
  loadProfile(req.edge);
  const known = zooPipelines(readZooIndex(zooDir, undefined).map((e) => e.info)).map(pipelineName);
  if (!known.includes(req.pipeline)) {
    const same = known.filter((n) => n.startsWith(`${model}/${split}/`));
    const hint = same.length > 0 ? same : known.filter((n) => n.startsWith(`${model}/`));
    throw new UserError(
      `pipeline '${req.name}': field 'pipeline': '${req.pipeline}' is not a pipeline of the zoo` +
        (hint.length > 0 ? `; pipelines of '${model}' include: ${hint.slice(0, 12).join(', ')}${hint.length > 12 ? `, ... (${hint.length} in all)` : ''}` : `; zoo models: ${[...new Set(known.map((n) => n.split('/')[0]))].join(', ')}`),
    );
  }
  const result = await measureZoo({
    samples: req.samples,
    seed: req.measureSeed,
    models: [model],
    zooDir,
    filter: (p) => `${p.model}/${p.split}/` === `${model}/${split}/` && req.pipeline === pipelineName(p),
    progress: process.stderr.isTTY === true,
  });
  const m = result.pipelines.find((p) => p.name === req.pipeline);
  if (!m) {
    throw new UserError(`pipeline '${req.name}': field 'pipeline': '${req.pipeline}' is not a pipeline of the zoo in ${path.relative(process.cwd(), zooDir) || zooDir}; 'splitsim measure' lists them in measurements.csv`);
  }
  log(`${req.name}: ${m.cached ? 'cached measurement' : 'measured'} ${m.results.bytes.length} samples of ${req.pipeline} (${result.backend})`);
  const analysis = (await analyzeModelSpec(model, { zooDir })).analysis;
  const dev = splitTimes(analysis, req.device, split);
  const edge = splitTimes(analysis, req.edge, split);
  const encodeMs = req.codecTime === 'host' ? mean(m.results.encodeMs) : 0;
  const decodeMs = req.codecTime === 'host' ? mean(m.results.decodeMs) : 0;
  const deviceMs = dev.headMs + encodeMs;
  const edgeMs = edge.tailMs + decodeMs;
  return {
    bytes: m.results.bytes,
    deviceMs,
    edgeMs,
    meta: {
      source: 'measured',
      measured_pipeline: req.pipeline,
      model,
      split,
      kind: m.row.kind,
      accuracy: m.row.accuracy,
      accuracy_ci95: m.row.accuracy_ci95,
      measured_samples: m.row.samples,
      bytes_mean: m.row.bytes_mean,
      device: req.device,
      device_framework: dev.framework,
      device_head_ms: dev.headMs,
      device_energy_mj: deviceMs * dev.activeW,
      edge: req.edge,
      edge_tail_ms: edge.tailMs,
      codec_encode_ms: encodeMs,
      codec_decode_ms: decodeMs,
      codec_time: req.codecTime,
      backend: result.backend,
      model_hash: m.row.model_hash,
    },
  };
}

/** An empirical sampler over per-sample sizes (bootstrap: one test image per request). */
export function bytesSampler(bytes: Uint32Array): Sampler {
  const n = bytes.length;
  return (rng) => bytes[rng.int(n)];
}
