import * as path from 'path';
import { z } from 'zod';
import { distributionSchema } from '../engine/distributions';
import { linkSpecSchema, resolveLinkSpec } from '../network/link';
import { inputError, UserError } from '../util/errors';
import { PACKAGE_ROOT } from '../util/version';
import { formatZodError, parseYaml, readTextFile, resolveNamed } from './load';

/** Folder that bare scenario names resolve against. */
export const SCENARIOS_DIR = path.join(PACKAGE_ROOT, 'scenarios');

/** Names end up in folder names and CSV cells, so keep them to a safe alphabet. */
const nameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-" only, starting with a letter or digit');

const timeMs = () => distributionSchema({ min: 0 });
const bytes = () => distributionSchema({ min: 0 });

/** Arrival processes of one device. */
export const arrivalSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('periodic'),
      fps: z.number().finite().positive().describe('frames per second'),
      jitterMs: z.number().finite().nonnegative().default(0).describe('each frame arrives uniformly within [0, jitterMs) after its nominal time'),
      phase: z.enum(['random', 'aligned']).default('random').describe('random: each device starts at a random offset within one period; aligned: all at 0'),
    })
    .strict(),
  z
    .object({
      type: z.literal('poisson'),
      ratePerS: z.number().finite().positive().describe('mean arrivals per second'),
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
  const count = allowZero ? z.number().int().nonnegative() : z.number().int().positive();
  const secs = allowZero ? z.number().finite().nonnegative() : z.number().finite().positive();
  return z
    .object({
      requests: count.optional().describe(`${what} in requests (all devices together, by arrival)`),
      seconds: secs.optional().describe(`${what} in simulated seconds`),
    })
    .strict()
    .refine((d) => (d.requests === undefined) !== (d.seconds === undefined), { message: 'give exactly one of requests or seconds' });
}

/** A pipeline whose numbers are declared in the scenario. */
const declaredPipelineSchema = z
  .object({
    source: z.literal('declared'),
    name: nameSchema,
    description: z.string().optional(),
    local: z.boolean().default(false).describe('true: everything runs on the device; nothing is sent'),
    deviceMs: timeMs().describe('device compute time per request'),
    payloadBytes: bytes().optional().describe('bytes sent on the uplink per request (a list = per-sample sizes)'),
    edgeMs: timeMs().optional().describe('edge compute time per request'),
    resultBytes: bytes().optional().describe('bytes sent back on the downlink'),
    deadlineMs: z.number().finite().positive().optional().describe('end-to-end deadline (overrides the scenario one)'),
  })
  .strict();

/**
 * A pipeline whose payload sizes and accuracy are measured by running a zoo model and codec
 * on real test images, and whose compute times are predicted from hardware profiles.
 */
const measuredPipelineSchema = z
  .object({
    source: z.literal('measured'),
    name: nameSchema,
    description: z.string().optional(),
    pipeline: z
      .string()
      .regex(/^[^/]+\/[^/]+\/.+$/, "expected 'model/split/codec[params]' as in results/measure/measurements.csv")
      .describe('the measured pipeline: model/split/codec[params]'),
    device: z.string().min(1).describe('hardware profile of the device (profiles/<name>.yaml)'),
    edge: z.string().min(1).describe('hardware profile of the edge server'),
    samples: z.number().int().positive().max(10000).default(1000).describe('test images measured (seeded subset)'),
    measureSeed: z.number().int().nonnegative().max(0xffffffff).default(1).describe('seed of the measured subset'),
    codecTime: z.enum(['host', 'ignore']).default('host').describe('add codec CPU time measured on this machine'),
    resultBytes: bytes().default(8).describe('bytes sent back on the downlink (e.g. class id and score)'),
    deadlineMs: z.number().finite().positive().optional().describe('end-to-end deadline (overrides the scenario one)'),
  })
  .strict();

/**
 * Pipelines are a union over `source` (how their numbers are obtained); `declared` is the
 * default. New sources (measured, profiled) add an object here and a resolver in
 * src/sim/pipeline.ts.
 */
export const pipelineSchema = z
  .preprocess(
    (v) => (v !== null && typeof v === 'object' && !Array.isArray(v) && !('source' in v) ? { source: 'declared', ...v } : v),
    z.discriminatedUnion('source', [declaredPipelineSchema, measuredPipelineSchema]),
  )
  .superRefine((p, ctx) => {
    if (p.source !== 'declared') return;
    const offloadFields = ['payloadBytes', 'edgeMs', 'resultBytes'] as const;
    for (const f of offloadFields) {
      if (p.local && p[f] !== undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [f], message: 'not allowed when local is true (nothing is offloaded)' });
      if (!p.local && p[f] === undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [f], message: 'Required (or set local: true)' });
    }
  });
export type PipelineSpec = z.infer<typeof pipelineSchema>;

/** A scenario file. */
export const scenarioSchema = z
  .object({
    name: nameSchema.optional().describe('results go to results/<name>/; default: the file name'),
    description: z.string().optional(),
    seed: z.number().int().nonnegative().max(0xffffffff).default(1),
    duration: spanSchema('how long arrivals are generated', false),
    warmup: spanSchema('initial requests discarded from statistics', true).default({ requests: 0 }),
    drain: z.boolean().default(true).describe('after arrivals stop, run until every request has finished'),
    devices: z
      .object({
        count: z.number().int().positive().default(1),
        arrival: arrivalSchema,
      })
      .strict(),
    uplink: linkSpecSchema,
    downlink: linkSpecSchema,
    edge: z
      .object({
        workers: z.number().int().positive().default(1).describe('parallel servers sharing one FIFO queue'),
      })
      .strict()
      .default({ workers: 1 }),
    deadlineMs: z.number().finite().positive().optional().describe('end-to-end deadline for every pipeline'),
    pipelines: z.array(pipelineSchema).min(1, 'at least one pipeline'),
  })
  .strict()
  .superRefine((s, ctx) => {
    const a = s.devices.arrival;
    if (a.type === 'periodic' && a.jitterMs >= 1000 / a.fps) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['devices', 'arrival', 'jitterMs'], message: `must be below the frame period (${1000 / a.fps} ms)` });
    }
    const seen = new Set<string>();
    s.pipelines.forEach((p, i) => {
      if (seen.has(p.name)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['pipelines', i, 'name'], message: `duplicate pipeline name '${p.name}'` });
      seen.add(p.name);
    });
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
  // Trace paths are relative to the scenario file; a bad trace fails here, before any run.
  const dir = path.dirname(file);
  return { scenario: { ...s, uplink: resolveLinkSpec(s.uplink, dir), downlink: resolveLinkSpec(s.downlink, dir) }, file };
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
