/**
 * Hardware profiles: what a device can compute and move per second, how well each layer
 * type uses it, what each layer costs in fixed overhead, and how much power it draws.
 * One YAML file per device under profiles/, named after the file.
 */
import * as fs from 'fs';
import * as path from 'path';
import { z } from 'zod';
import { loadYaml, resolveNamed } from '../config/load';
import { UserError } from '../util/errors';
import { PACKAGE_ROOT } from '../util/version';

const positive = (what: string) =>
  z.number({ required_error: `missing (${what})`, invalid_type_error: `must be a number (${what})` })
    .positive({ message: `must be a positive number (${what})` });
const nonNegative = (what: string) =>
  z.number({ required_error: `missing (${what})`, invalid_type_error: `must be a number (${what})` })
    .nonnegative({ message: `must be a non-negative number (${what})` });
const eff = (what: string) => positive(`fraction of peak reached by ${what} layers`).max(4, {
  message: 'must be at most 4 (a fraction of the datasheet peak; above 1 only for Winograd-style savings)',
});

/** Compute efficiency per layer category: achieved FLOP/s ÷ datasheet peak FLOP/s. */
export const efficiencySchema = z
  .object({
    conv: eff('convolution (other than 3x3 stride 1)'),
    conv3x3: eff('3x3 stride-1 convolution (Winograd-eligible)'),
    deconv: eff('transposed convolution'),
    depthwise: eff('depthwise convolution'),
    dense: eff('dense'),
    gdn: eff('GDN/IGDN'),
    normalization: eff('normalization'),
    elementwise: eff('activation and merge'),
    pooling: eff('pooling'),
    data: eff('padding/concatenation'),
  })
  .strict();

const precisionSchema = z
  .object({
    peakGflops: positive('datasheet peak, GFLOP/s with 1 MAC = 2 FLOP'),
    efficiency: efficiencySchema,
  })
  .strict();

/** The profile file format (see profiles/*.yaml). */
export const profileSchema = z
  .object({
    name: z.string({ required_error: 'missing (profile name, equal to the file name)' }).min(1),
    description: z.string({ required_error: 'missing (what the device is)' }),
    role: z.enum(['device', 'server', 'host']),
    framework: z.string({ required_error: 'missing (the inference framework the numbers assume)' }),
    defaultPrecision: z.enum(['fp32', 'fp16', 'int8']),
    compute: z
      .object({ fp32: precisionSchema.optional(), fp16: precisionSchema.optional(), int8: precisionSchema.optional() })
      .strict(),
    memory: z
      .object({
        bandwidthGBps: positive('datasheet DRAM bandwidth, GB/s'),
        efficiency: positive('achievable fraction of the datasheet bandwidth').max(1, {
          message: 'must be at most 1',
        }),
      })
      .strict(),
    overhead: z
      .object({
        perLayerMs: nonNegative('fixed cost of launching one layer kernel, ms'),
        perInferenceMs: nonNegative('fixed cost of one inference call, ms').optional(),
      })
      .strict(),
    fusion: z
      .object({
        batchNorm: z.boolean({ required_error: 'missing (folds batch norm into the preceding conv/dense)' }),
        activation: z.boolean({ required_error: 'missing (fuses activations into the preceding layer)' }),
        add: z.boolean({ required_error: 'missing (fuses residual adds into the preceding conv)' }),
        views: z.boolean({ required_error: 'missing (reshape/flatten/dropout cost nothing)' }),
      })
      .strict(),
    power: z
      .object({ activeW: positive('power while computing, W'), idleW: nonNegative('power while idle, W') })
      .strict(),
    batching: z.object({ maxBatch: z.number().int().positive() }).strict().optional(),
    /**
     * The CPU core that runs the codecs (on a GPU board or server: its host CPU). Codec CPU
     * time, calibrated on the host (profiles/codecs/host.yaml), is scaled to this profile by
     * the ratio of single-thread sysbench rates.
     */
    cpu: z
      .object({
        sysbenchEventsPerS: positive('single-thread `sysbench cpu --threads=1` rate (sysbench 1.0.20, max-prime 10000) of one core that runs the codecs, events/s'),
        source: z.string({ required_error: 'missing (where the rate comes from: measured, cited, or how it was estimated)' }).min(1),
      })
      .strict()
      .optional(),
    /** Written by `splitsim calibrate`: the raw micro-benchmark results. */
    calibration: z.record(z.unknown()).optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (!p.compute[p.defaultPrecision]) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['compute', p.defaultPrecision],
        message: `missing (defaultPrecision is ${p.defaultPrecision})`,
      });
    }
    if (p.power.idleW > p.power.activeW) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['power', 'idleW'], message: 'must not exceed activeW' });
    }
  });

export type HardwareProfile = z.infer<typeof profileSchema>;
export type PrecisionSpec = z.infer<typeof precisionSchema>;
export type Efficiency = z.infer<typeof efficiencySchema>;

/** Folder holding the shipped profiles. */
export const PROFILES_DIR = path.join(PACKAGE_ROOT, 'profiles');

/** Names of the profiles in a folder (file names without .yaml), sorted. */
export function listProfiles(dir = PROFILES_DIR): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length))
    .sort();
}

/**
 * Loads a profile by name (looked up in profiles/) or by path. An unknown name lists the
 * valid ones; a missing, mistyped or negative field names the file and the field.
 */
export function loadProfile(nameOrPath: string, dir = PROFILES_DIR): HardwareProfile {
  const file = resolveNamed(nameOrPath, dir);
  if (!fs.existsSync(file)) {
    const isPath = nameOrPath.includes('/') || nameOrPath.includes(path.sep);
    if (isPath) throw new UserError(`${file}: profile file not found`);
    throw new UserError(
      `unknown device '${nameOrPath}': no ${file}; valid devices: ${listProfiles(dir).join(', ') || '(none)'}`,
    );
  }
  const profile = loadYaml(profileSchema, file, 'profile');
  const base = path.basename(file).replace(/\.ya?ml$/, '');
  if (profile.name !== base) {
    throw new UserError(`${file}: field 'name': '${profile.name}' must equal the file name '${base}'`);
  }
  return profile;
}
