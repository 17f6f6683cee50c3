/**
 * What the simulator receives for one pipeline: every cost it needs, as typed data, whatever
 * produced it (measured on real data and predicted from profiles, or declared in the
 * scenario). The simulator imports this type and nothing from measure/ or hardware/.
 */
import type { Sampler } from '../engine/distributions';
import type { PipelineKind } from './ref';

/**
 * Per-sample values of a measured pipeline, all of the same length: one entry per measured
 * test sample. A request draws one sample index (the same index for every pipeline at the
 * same request) and takes that sample's values.
 */
export interface PerSample {
  /** Payload bytes of the sample's real bitstream. */
  bytes: Uint32Array;
  /** 1 when the pipeline classified the sample correctly. */
  correct: Uint8Array;
  /** Device time: head on the device profile + encode (codec cost model, scaled), ms. */
  deviceMs: Float64Array;
  /** Decode on the server (codec cost model, scaled), ms. */
  decodeMs: Float64Array;
}

/** Where a measured pipeline's numbers came from. */
export interface MeasuredProvenance {
  /** Predicted head time on the device and tail time (batch 1) on the server, ms. */
  headMs: number;
  tailMs: number;
  /** Mean encode time on the device and decode time on the server, ms (codec cost model). */
  encodeMsMean: number;
  decodeMsMean: number;
  /** Codec cost class and the CPU speed ratios applied (host rate / profile rate). */
  costClass: string;
  deviceCpuScale: number;
  edgeCpuScale: number;
  modelHash: string;
  backend: string;
  measuredSamples: number;
  /** Top-1 and mean bytes over the measured samples (before any simulation). */
  sampleAccuracy: number;
  bytesMean: number;
  bytesP95: number;
}

/** A pipeline ready to simulate. */
export interface PipelineRecord {
  name: string;
  source: 'measured' | 'declared';
  description?: string;
  /** Measured pipelines: what was measured (declared ones: empty strings, kind 'declared'). */
  model: string;
  split: string;
  codec: string;
  params: string;
  kind: PipelineKind | 'declared';
  /** Nothing is offloaded: the request is done when the device finishes. */
  local: boolean;
  /** Measured pipelines' per-sample values (sample-indexed). */
  samples?: PerSample;
  /** Declared pipelines' per-request samplers (measured ones derive theirs from samples). */
  deviceMs?: Sampler;
  payloadBytes?: Sampler;
  edgeMs?: Sampler;
  /** Bytes of the reply on the downlink. */
  resultBytes: Sampler;
  /**
   * Server time of a batch of b requests (index b-1), without decoding: the tail on the
   * server profile at that batch size. Declared pipelines have none (a batch costs the
   * sum of its requests' edgeMs).
   */
  tailBatchMs?: Float64Array;
  /** End-to-end deadline (ms), if any. */
  deadlineMs?: number;
  /** Declared accuracy, if the scenario states one. */
  declaredAccuracy?: number;
  /** Measured pipelines' provenance. */
  measured?: MeasuredProvenance;
  /** Mean per-request device time, payload bytes and edge time (for capacity checks), ms/B. */
  means: { deviceMs: number; payloadBytes: number; edgeMs: number; resultBytes: number };
}

/** Power figures of the scenario's device, for energy per request. */
export interface DevicePower {
  profile: string;
  activeW: number;
  idleW: number;
}
