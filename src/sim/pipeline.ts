import * as path from 'path';
import { distributionMean, makeSampler, type DistributionSpec, type Sampler } from '../engine/distributions';
import type { PipelineSpec, Scenario } from '../config/scenario';

/**
 * What the system model needs to know about a pipeline, whatever produced the numbers:
 * per-request samplers for each cost, plus free-form metadata recorded with the results.
 */
export interface ResolvedPipeline {
  name: string;
  /** Device compute time per request (ms). */
  deviceMs: Sampler;
  /** Bytes sent on the uplink per request (integers). */
  payloadBytes: Sampler;
  /** Edge compute time per request (ms). */
  edgeMs: Sampler;
  /** Bytes sent back on the downlink per request (integers). */
  resultBytes: Sampler;
  /** End-to-end deadline (ms), if any. */
  deadlineMs?: number;
  /** True when nothing is offloaded: the request is done when the device finishes. */
  local?: boolean;
  /** Where the numbers came from and their means, for the results. */
  meta: Record<string, string | number>;
}

/** What a resolver may use besides the pipeline spec itself. */
export interface ResolveContext {
  scenario: Scenario;
  /** Folder of the scenario file, for paths written relative to it. */
  scenarioDir: string;
}

type Resolver<S extends PipelineSpec> = (spec: S, ctx: ResolveContext) => ResolvedPipeline | Promise<ResolvedPipeline>;

const ZERO: Sampler = () => 0;

/** Pipelines whose costs are written in the scenario. */
const resolveDeclared: Resolver<Extract<PipelineSpec, { source: 'declared' }>> = (spec, ctx) => {
  const meta: Record<string, string | number> = { source: 'declared' };
  const sampler = (key: string, d: DistributionSpec | undefined, round: boolean): Sampler => {
    if (d === undefined) return ZERO;
    meta[`${key}_dist`] = d.type;
    meta[`${key}_mean`] = distributionMean(d);
    return makeSampler(d, round);
  };
  return {
    name: spec.name,
    deviceMs: sampler('device_ms', spec.deviceMs, false),
    payloadBytes: sampler('payload_bytes', spec.payloadBytes, true),
    edgeMs: sampler('edge_ms', spec.edgeMs, false),
    resultBytes: sampler('result_bytes', spec.resultBytes, true),
    deadlineMs: spec.deadlineMs ?? ctx.scenario.deadlineMs,
    local: spec.local,
    meta,
  };
};

/**
 * One resolver per pipeline `source`. Adding a source (measured bytes, profiled compute
 * times) means adding its schema in config/scenario.ts and its resolver here.
 */
/** Pipelines measured on the zoo (bytes, accuracy) with compute predicted from profiles. */
const resolveMeasured: Resolver<Extract<PipelineSpec, { source: 'measured' }>> = async (spec, ctx) => {
  // Loaded lazily: tfjs and sharp are only needed when a scenario has measured pipelines.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const m = require('./measured') as typeof import('./measured');
  const costs = await m.measuredCosts(
    { name: spec.name, pipeline: spec.pipeline, device: spec.device, edge: spec.edge, samples: spec.samples, measureSeed: spec.measureSeed, codecTime: spec.codecTime },
    (msg) => process.stderr.write(`${msg}\n`),
  );
  const result = makeSampler(spec.resultBytes, true);
  return {
    name: spec.name,
    deviceMs: () => costs.deviceMs,
    payloadBytes: m.bytesSampler(costs.bytes),
    edgeMs: () => costs.edgeMs,
    resultBytes: result,
    deadlineMs: spec.deadlineMs ?? ctx.scenario.deadlineMs,
    meta: { ...costs.meta, result_bytes_mean: distributionMean(spec.resultBytes) },
  };
};

const RESOLVERS: { [K in PipelineSpec['source']]: Resolver<Extract<PipelineSpec, { source: K }>> } = {
  declared: resolveDeclared,
  measured: resolveMeasured,
};

/** Turns one pipeline spec into samplers for the system model. */
export async function resolvePipeline(spec: PipelineSpec, ctx: ResolveContext): Promise<ResolvedPipeline> {
  const resolver = RESOLVERS[spec.source] as Resolver<PipelineSpec>;
  return resolver(spec, ctx);
}

/** Resolves every pipeline of a scenario, in order. */
export async function resolvePipelines(scenario: Scenario, scenarioFile: string): Promise<ResolvedPipeline[]> {
  const ctx: ResolveContext = { scenario, scenarioDir: path.dirname(scenarioFile) };
  const out: ResolvedPipeline[] = [];
  for (const p of scenario.pipelines) out.push(await resolvePipeline(p, ctx));
  return out;
}
