import * as path from 'path';
import { z } from 'zod';
import { imageFolderSchema } from '../data/spec';
import { distributionSchema } from '../engine/distributions';
import { linkSpecSchema, resolveLinkSpec } from '../network/link';
import { radioSpecSchema } from '../network/radio';
import { inputError, UserError } from '../util/errors';
import { PACKAGE_ROOT } from '../util/version';
import { formatZodError, parseYaml, readTextFile, resolveNamed } from './load';

/** Folder that bare scenario names resolve against. */
export const SCENARIOS_DIR = path.join(PACKAGE_ROOT, 'scenarios');

/** Names end up in folder names and CSV cells, so keep them to a safe alphabet. */
const nameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-" only, starting with a letter or digit');

/*
 * Ranges: valid-looking but enormous values (a 1e15-byte payload, a 1e308-s run) are refused
 * here with the range, since no run with them could finish or fit in memory.
 */
/** At most 1e9 ms (11.6 days) for one compute time. */
const timeMs = () => distributionSchema({ min: 0, max: 1e9 });
/** At most 1e9 bytes (1 GB) per payload. */
const bytes = () => distributionSchema({ min: 0, max: 1e9 });
const rate = (what: string) => z.number().finite().min(1e-7, { message: 'must be at least 1e-7 (one request per 116 days)' }).max(1e6, { message: 'must be at most 1e6 per second' }).describe(what);

/** Arrival processes of one device. */
export const arrivalSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('periodic'),
      fps: rate('frames per second'),
      jitterMs: z.number().finite().nonnegative().max(1e9).default(0).describe('each frame arrives uniformly within [0, jitterMs) after its nominal time'),
      phase: z.enum(['random', 'aligned']).default('random').describe('random: each device starts at a random offset within one period; aligned: all at 0'),
    })
    .strict(),
  z
    .object({
      type: z.literal('poisson'),
      ratePerS: rate('mean arrivals per second'),
    })
    .strict(),
  z
    .object({
      type: z.literal('closed'),
      thinkMs: timeMs().default(0).describe('time between a response (or a drop) and the next request'),
    })
    .strict(),
]);
export type ArrivalSpec = z.infer<typeof arrivalSchema>;

/** "How long": either a number of requests or simulated seconds, exactly one. */
function spanSchema(what: string, allowZero: boolean) {
  const count = (allowZero ? z.number().int().nonnegative() : z.number().int().positive()).max(1e9, { message: 'must be at most 1e9 requests' });
  const secs = (allowZero ? z.number().finite().nonnegative() : z.number().finite().positive()).max(1e8, { message: 'must be at most 1e8 s (3 years)' });
  return z
    .object({
      requests: count.optional().describe(`${what} in requests (all devices together, by arrival)`),
      seconds: secs.optional().describe(`${what} in simulated seconds`),
    })
    .strict()
    .refine((d) => (d.requests === undefined) !== (d.seconds === undefined), { message: 'give exactly one of requests or seconds' });
}

/** A pipeline whose numbers are declared in the scenario (e.g. taken from a paper). */
export const declaredPipelineSchema = z
  .object({
    source: z.literal('declared').default('declared'),
    name: nameSchema,
    description: z.string().optional(),
    local: z.boolean().default(false).describe('true: everything runs on the device; nothing is sent'),
    deviceMs: timeMs().describe('device compute time per request'),
    payloadBytes: bytes().optional().describe('bytes sent on the uplink per request (a list = per-sample sizes)'),
    edgeMs: timeMs().optional().describe('edge compute time per request'),
    resultBytes: bytes().optional().describe('bytes sent back on the downlink'),
    accuracy: z.number().min(0).max(1).optional().describe('top-1 accuracy, if the source states one (0..1)'),
    deadlineMs: z.number().finite().positive().optional().describe('end-to-end deadline (overrides the scenario one)'),
  })
  .strict()
  .superRefine((p, ctx) => {
    const offloadFields = ['payloadBytes', 'edgeMs', 'resultBytes'] as const;
    for (const f of offloadFields) {
      if (p.local && p[f] !== undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [f], message: 'not allowed when local is true (nothing is offloaded)' });
      if (!p.local && p[f] === undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [f], message: 'Required (or set local: true)' });
    }
  });
export type DeclaredPipelineSpec = z.infer<typeof declaredPipelineSchema>;

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const oneOrMany = <T extends z.ZodTypeAny>(t: T) => z.union([t, z.array(t).min(1)]);

/**
 * A sweep of measured pipelines: one codec key with its parameters, each a value or a list
 * of values (their product is taken), at one or more splits of one or more models, e.g.
 * `{jpeg: {quality: [10, 50, 90]}}` (split 'input', the scenario's model) or
 * `{split: [stage1, stage2], quant: {bits: [8, 4]}}`. Names are checked by pipeline
 * expansion (src/pipelines/expand.ts), which lists the valid ones.
 */
export const sweepEntrySchema = z
  .object({
    model: oneOrMany(z.string().min(1)).optional().describe('model name(s); default: the scenario model (the bottleneck models for their own codecs)'),
    split: oneOrMany(z.string().min(1)).optional().describe("split name(s); default: 'input' for input codecs, the bottleneck for model-specific codecs"),
  })
  .catchall(z.union([z.record(oneOrMany(scalar)), z.null()]));
export type SweepEntry = z.infer<typeof sweepEntrySchema>;

/** Whether a pipelines entry is meant as a declared pipeline (it has one of its fields). */
export function isDeclaredEntry(v: Record<string, unknown>): boolean {
  return ['name', 'source', 'deviceMs', 'local', 'payloadBytes', 'edgeMs'].some((k) => k in v);
}

/**
 * One entry of `pipelines`: a name ('model/split/codec[params]', 'model/device-only',
 * 'model/all' or 'all'), a sweep object, or a declared pipeline (it has deviceMs or
 * source: declared).
 */
export const pipelineEntrySchema = z.union([z.string().min(1), z.record(z.unknown())]).superRefine((v, ctx) => {
  if (typeof v === 'string') return;
  if (v.source === 'measured') {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: "'source: measured' entries are gone: name the pipeline as 'model/split/codec[params]' (e.g. student-b0.1/bottleneck/factorized) and set devices.profile and edge.profile" });
    return;
  }
  const r = (isDeclaredEntry(v) ? declaredPipelineSchema : sweepEntrySchema).safeParse(v);
  if (!r.success) for (const i of r.error.issues) ctx.addIssue({ ...i, path: i.path });
});
export type PipelineEntry = string | Record<string, unknown>;

/** What the decision optimises and under which constraints (CLI flags override). */
export const decisionSchema = z
  .object({
    objective: z.enum(['latency', 'p95', 'energy']).default('latency').describe('latency: mean end-to-end; p95: 95th percentile; energy: device energy per request'),
    minAccuracy: z.number().min(0).max(1).optional().describe('lowest acceptable top-1 (0..1)'),
    maxAccuracyDrop: z.number().min(0).max(100).optional().describe('largest acceptable top-1 drop against the reference (unsplit) model, in points; default 1.5 when minAccuracy is not given'),
    maxMissRatio: z.number().min(0).max(1).default(0.05).describe('largest acceptable share of requests that miss the deadline or are dropped'),
  })
  .strict();
export type DecisionSpec = z.infer<typeof decisionSchema>;

/** A scenario file. */
export const scenarioSchema = z
  .object({
    name: nameSchema.optional().describe('results go to results/<name>/; default: the file name'),
    description: z.string().optional(),
    seed: z.number().int().nonnegative().max(0xffffffff).default(1),
    duration: spanSchema('how long arrivals are generated', false),
    warmup: spanSchema('initial requests discarded from statistics', true).default({ requests: 0 }),
    drain: z.boolean().default(true).describe('after arrivals stop, run until every request has finished'),
    model: z.string().min(1).default('teacher').describe('the reference (unsplit) model: a zoo name or a model folder'),
    models: z.array(z.string().min(1)).min(1).optional().describe("models 'all' expands over (default: every zoo model)"),
    dataset: z.union([
      z.literal('fashion-mnist'),
      z.string().min(1),
      imageFolderSchema.extend({ path: z.string().min(1).describe('the image folder, relative to the scenario file') }),
    ]).default('fashion-mnist').describe("the test set measured pipelines run on: 'fashion-mnist', an image folder with a splitsim-dataset.yaml or a dataset file (paths relative to the scenario), or {path, labels, crop, ...} inline"),
    samples: z.number().int().positive().max(10000000).default(1000).describe('test samples measured (a seeded subset; the dataset size = all of it)'),
    measureSeed: z.number().int().nonnegative().max(0xffffffff).default(1).describe('seed of the measured subset'),
    resultBytes: bytes().default(8).describe('bytes of the reply of measured pipelines (class id and score)'),
    reference: z.string().min(1).optional().describe('pipeline accuracy differences are paired against (default: <model>/device-only, the unsplit model)'),
    devices: z
      .object({
        count: z.number().int().positive().max(100000, { message: 'must be at most 100000 devices' }).default(1),
        arrival: arrivalSchema,
        profile: z.string().min(1).optional().describe('hardware profile of the devices (profiles/<name>.yaml or a path); needed by measured pipelines'),
        runtime: z.string().min(1).optional().describe("the device's inference runtime, one the profile declares (default: the profile's)"),
        radio: radioSpecSchema.optional().describe('radio power model of the devices (lte, 3g, wifi, nbiot, lora, or inline)'),
      })
      .strict(),
    uplink: linkSpecSchema,
    downlink: linkSpecSchema,
    edge: z
      .object({
        workers: z.number().int().positive().max(100000).default(1).describe('parallel servers sharing one FIFO queue'),
        profile: z.string().min(1).optional().describe('hardware profile of the edge server; needed by measured pipelines'),
        runtime: z.string().min(1).optional().describe("the server's runtime, one the profile declares (e.g. tensorrt, pytorch-cudagraph, pytorch-eager)"),
        maxBatch: z.number().int().positive().max(4096).default(1).describe('largest batch a worker runs at once (1: no batching)'),
        maxWaitMs: z.number().finite().nonnegative().max(1e7).default(0).describe('a batch smaller than maxBatch starts once its oldest request has waited this long'),
        cpuShare: z.number().finite().gt(0, 'must be above 0 (a share of the profile\'s processor)').max(1, 'must be at most 1 (the whole processor)').optional()
          .describe("share of the profile's processor each worker gets (default 1): measured pipelines' tail and decode times are divided by it"),
      })
      .strict()
      .default({ workers: 1, maxBatch: 1, maxWaitMs: 0 }),
    deadlineMs: z.number().finite().positive().max(1e12).optional().describe('end-to-end deadline for every pipeline'),
    decision: decisionSchema.default({ objective: 'latency', maxMissRatio: 0.05 }),
    pipelines: z.union([z.literal('all'), z.array(pipelineEntrySchema).min(1, 'at least one pipeline')]),
  })
  .strict()
  .superRefine((s, ctx) => {
    const a = s.devices.arrival;
    if (a.type === 'periodic' && a.jitterMs >= 1000 / a.fps) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['devices', 'arrival', 'jitterMs'], message: `must be below the frame period (${1000 / a.fps} ms)` });
    }
  });
export type Scenario = z.infer<typeof scenarioSchema> & { name: string };

/** A loaded scenario and where it came from. */
export interface LoadedScenario {
  scenario: Scenario;
  /** Absolute path of the file it was read from. */
  file: string;
}

/**
 * Loads a scenario: a bare name ("lte" or "lte.yaml") resolves against scenarios/, a path
 * is taken as given. Bad files throw UserError naming the file and the field.
 */
export function loadScenario(nameOrPath: string): LoadedScenario {
  const file = path.resolve(resolveNamed(nameOrPath, SCENARIOS_DIR));
  const s = parseScenario(parseYaml(readTextFile(file, 'scenario'), file), file);
  // Trace paths are relative to the scenario file; a bad trace fails here, before any run,
  // naming the scenario's field as well as the trace file and line.
  const dir = path.dirname(file);
  const link = (spec: Scenario['uplink'], field: 'uplink' | 'downlink') => {
    try {
      return resolveLinkSpec(spec, dir);
    } catch (e) {
      if (e instanceof UserError) throw new UserError(`${file}: field '${field}.file': ${e.message}`);
      throw e;
    }
  };
  return { scenario: { ...s, uplink: link(s.uplink, 'uplink'), downlink: link(s.downlink, 'downlink') }, file };
}

/** Validates an already-parsed scenario object (e.g. built in code); `file` names it in errors. */
export function parseScenario(data: unknown, file: string): Scenario {
  const parsed = scenarioSchema.safeParse(data);
  if (!parsed.success) {
    // A misspelled field also makes the real one look missing; report the root cause only.
    const unknown = parsed.error.issues.filter((i) => i.code === z.ZodIssueCode.unrecognized_keys);
    throw new UserError(formatZodError(unknown.length > 0 ? new z.ZodError(unknown) : parsed.error, file));
  }
  const s = parsed.data;
  const name = s.name ?? path.basename(file).replace(/\.ya?ml$/, '');
  if (!nameSchema.safeParse(name).success) {
    throw inputError(file, 'name', `the file name '${name}' cannot name a results folder; set name: (letters, digits, ".", "_", "-")`);
  }
  return { ...s, name };
}
