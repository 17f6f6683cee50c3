/**
 * Hardware profiles: what a device can compute and move per second, how well each layer
 * type uses it, what each layer costs in fixed overhead, and how much power it draws.
 * One YAML file per device under profiles/, named after the file.
 */
import * as fs from 'fs';
import * as path from 'path';
import { z } from 'zod';
import { loadYaml, resolveNamed } from '../config/load';
import { inputError, UserError } from '../util/errors';
import { PACKAGE_ROOT } from '../util/version';

const positive = (what: string) =>
  z.number({ required_error: `missing (${what})`, invalid_type_error: `must be a number (${what})` })
    .finite({ message: `must be a finite number (${what})` })
    .positive({ message: `must be a positive number (${what})` });
const nonNegative = (what: string) =>
  z.number({ required_error: `missing (${what})`, invalid_type_error: `must be a number (${what})` })
    .finite({ message: `must be a finite number (${what})` })
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

const PRECISIONS = ['fp32', 'fp16', 'int8'] as const;
const CATEGORY_NAMES = ['conv', 'conv3x3', 'deconv', 'depthwise', 'dense', 'gdn', 'normalization', 'elementwise', 'pooling', 'data'] as const;

const overheadSchema = z
  .object({
    perLayerMs: nonNegative('serial cost of launching one layer kernel, ms'),
    perInferenceMs: nonNegative('fixed cost of one inference call, ms').optional(),
    minKernelMs: nonNegative('shortest time one launched kernel takes, however little work it has, ms').optional(),
    dispatchMs: nonNegative('host CPU time to issue one kernel, overlapped with the device running earlier ones, ms').optional(),
  })
  .strict();

const fusionSchema = z
  .object({
    batchNorm: z.boolean({ required_error: 'missing (folds batch norm into the preceding conv/dense)' }),
    activation: z.boolean({ required_error: 'missing (fuses activations into the preceding layer)' }),
    add: z.boolean({ required_error: 'missing (fuses residual adds into the preceding conv)' }),
    views: z.boolean({ required_error: 'missing (reshape/flatten/dropout cost nothing)' }),
    inlineActivation: z
      .boolean({ invalid_type_error: 'must be true or false (an activation written inside a conv/dense layer runs in its kernel)' })
      .optional(),
  })
  .strict();

/**
 * How much of a GPU one convolution can use: a kernel exposing n output elements (per-sample
 * outputs x batch) reaches n / (n + sms x outputsPerSm) of the compute rate its efficiency
 * allows, so time grows sub-linearly with batch until the device is full; and a convolution
 * with C input channels, padded to a multiple of channelTile, a further C / padded C.
 */
const utilisationSchema = z
  .object({
    sms: positive('streaming multiprocessors (datasheet)').int({ message: 'must be a whole number of SMs' }),
    outputsPerSm: positive('output elements per SM at which a kernel reaches half the rate its efficiency allows'),
    channelTile: positive('input channels a tensor-core tile consumes at once; a convolution with fewer (an RGB input) pads the rest').int({ message: 'must be a whole number of channels' }).optional(),
  })
  .strict();

/**
 * One software runtime on the device: what it fuses, what a kernel launch costs, and how
 * well its kernels use the hardware. Fields left out are those of the profile's top level.
 */
const runtimeSchema = z
  .object({
    framework: z.string({ invalid_type_error: 'must be a string (the inference framework)' }).min(1).optional(),
    precisions: z.array(z.enum(PRECISIONS)).min(1).optional(),
    tf32: z.array(z.enum(CATEGORY_NAMES)).optional(),
    efficiency: z
      .object({
        fp32: efficiencySchema.partial().optional(),
        fp16: efficiencySchema.partial().optional(),
        int8: efficiencySchema.partial().optional(),
        tf32: efficiencySchema.partial().optional(),
      })
      .strict()
      .optional(),
    overhead: overheadSchema.partial().optional(),
    fusion: fusionSchema.partial().optional(),
  })
  .strict();

/** The profile file format (see profiles/*.yaml). */
export const profileSchema = z
  .object({
    name: z.string({ required_error: 'missing (profile name, equal to the file name)' }).min(1),
    description: z.string({ required_error: 'missing (what the device is)' }),
    role: z.enum(['device', 'server', 'host']),
    framework: z.string({ required_error: 'missing (the inference framework the numbers assume)' }),
    /** Name of the runtime predictions use by default (one of `runtimes`, when given). */
    runtime: z.string({ invalid_type_error: 'must be a runtime name' }).min(1).optional(),
    defaultPrecision: z.enum(PRECISIONS),
    compute: z
      .object({
        fp32: precisionSchema.optional(),
        fp16: precisionSchema.optional(),
        int8: precisionSchema.optional(),
        /** TF32 tensor cores (Ampere and later): FP32 layers of the categories a runtime lists under `tf32`. */
        tf32: precisionSchema.optional(),
      })
      .strict(),
    memory: z
      .object({
        bandwidthGBps: positive('datasheet DRAM bandwidth, GB/s'),
        efficiency: positive('achievable fraction of the datasheet bandwidth').max(1, {
          message: 'must be at most 1',
        }),
      })
      .strict(),
    overhead: overheadSchema,
    fusion: fusionSchema,
    utilisation: utilisationSchema.optional(),
    /** Runtime variants; each overrides the top-level framework, fusion, overhead and efficiencies. */
    runtimes: z.record(runtimeSchema).optional(),
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
    const declared = Object.keys(p.runtimes ?? {});
    if (p.runtimes && !p.runtime) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['runtime'], message: `missing (the default runtime, one of: ${declared.join(', ')})` });
    } else if (p.runtimes && p.runtime && !declared.includes(p.runtime)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['runtime'],
        message: `'${p.runtime}' is not a declared runtime (runtimes: ${declared.join(', ')})`,
      });
    }
    for (const [name, rt] of Object.entries(p.runtimes ?? {})) {
      for (const prec of rt.precisions ?? []) {
        if (!p.compute[prec]) {
          ctx.addIssue({
            code: z.ZodIssueCode.custom,
            path: ['runtimes', name, 'precisions'],
            message: `lists ${prec}, but the hardware has no ${prec} (no compute.${prec})`,
          });
        }
      }
      for (const prec of Object.keys(rt.efficiency ?? {}) as Array<keyof typeof p.compute>) {
        if (!p.compute[prec]) {
          ctx.addIssue({
            code: z.ZodIssueCode.custom,
            path: ['runtimes', name, 'efficiency', prec],
            message: `the hardware has no ${prec} (no compute.${prec})`,
          });
        }
      }
      if ((rt.tf32?.length ?? 0) > 0 && !p.compute.tf32) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ['runtimes', name, 'tf32'],
          message: 'the hardware has no TF32 tensor cores (no compute.tf32)',
        });
      }
    }
  });

/** A validated profile; `file` is the YAML it was loaded from (absent for profiles built in code). */
export type HardwareProfile = z.infer<typeof profileSchema> & { file?: string };
export type PrecisionSpec = z.infer<typeof precisionSchema>;
export type Efficiency = z.infer<typeof efficiencySchema>;
export type RuntimeSpec = z.infer<typeof runtimeSchema>;
type ProfilePrecision = (typeof PRECISIONS)[number];

/** Runtime name of a profile that declares no `runtimes` and no `runtime`. */
export const DEFAULT_RUNTIME = 'default';

/**
 * A profile with one runtime applied: the top-level framework, fusion, overhead and
 * efficiencies are that runtime's, which is all the cost model reads.
 */
export interface RuntimeProfile extends HardwareProfile {
  runtimeName: string;
  /** Precisions this runtime runs (the hardware's, unless the runtime lists fewer). */
  precisions: ProfilePrecision[];
  /** FP32 layer categories that run on TF32 tensor cores (compute.tf32). */
  tf32Categories: ReadonlySet<string>;
  /** The profile as loaded, before any runtime was applied. */
  base: HardwareProfile;
}

/** Where a profile came from, for error messages: its file, or its name. */
export const profileWhere = (p: HardwareProfile): string => p.file ?? `profile '${p.name}'`;

/** The runtimes a profile declares, default first. */
export function listRuntimes(profile: HardwareProfile): string[] {
  const base = (profile as Partial<RuntimeProfile>).base ?? profile;
  const def = defaultRuntime(base);
  return [def, ...Object.keys(base.runtimes ?? {}).filter((r) => r !== def)];
}

/** The runtime a profile's predictions use when none is asked for. */
export function defaultRuntime(profile: HardwareProfile): string {
  const base = (profile as Partial<RuntimeProfile>).base ?? profile;
  return base.runtime ?? DEFAULT_RUNTIME;
}

const resolved = new WeakMap<HardwareProfile, Map<string, RuntimeProfile>>();

/**
 * The profile with a runtime applied (default: the profile's default runtime). An unknown
 * runtime is a UserError naming the profile file and the field, listing the declared ones.
 */
export function withRuntime(profile: HardwareProfile, runtime?: string): RuntimeProfile {
  const asResolved = profile as Partial<RuntimeProfile>;
  if (asResolved.base && (runtime === undefined || runtime === asResolved.runtimeName)) return profile as RuntimeProfile;
  const base = asResolved.base ?? profile;
  const name = runtime ?? defaultRuntime(base);
  let cache = resolved.get(base);
  if (!cache) resolved.set(base, (cache = new Map()));
  const hit = cache.get(name);
  if (hit) return hit;
  let spec: RuntimeSpec = {};
  if (base.runtimes) {
    if (!Object.prototype.hasOwnProperty.call(base.runtimes, name)) {
      throw inputError(profileWhere(base), 'runtimes', `no runtime '${name}' (declared runtimes: ${listRuntimes(base).join(', ')})`);
    }
    spec = base.runtimes[name];
  } else if (name !== defaultRuntime(base)) {
    throw inputError(profileWhere(base), 'runtimes', `no runtime '${name}': ${base.name} declares no runtimes besides '${defaultRuntime(base)}'`);
  }
  const compute: HardwareProfile['compute'] = {};
  for (const key of Object.keys(base.compute) as Array<keyof HardwareProfile['compute']>) {
    const c = base.compute[key]!;
    compute[key] = { peakGflops: c.peakGflops, efficiency: { ...c.efficiency, ...spec.efficiency?.[key] } as Efficiency };
  }
  const hardware = PRECISIONS.filter((p) => base.compute[p]);
  const rp: RuntimeProfile = {
    ...base,
    framework: spec.framework ?? base.framework,
    compute,
    overhead: { ...base.overhead, ...spec.overhead },
    fusion: { ...base.fusion, ...spec.fusion },
    runtimeName: name,
    precisions: spec.precisions ?? hardware,
    tf32Categories: new Set(spec.tf32 ?? []),
    base,
  };
  cache.set(name, rp);
  return rp;
}

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
  const profile: HardwareProfile = loadYaml(profileSchema, file, 'profile');
  const base = path.basename(file).replace(/\.ya?ml$/, '');
  if (profile.name !== base) {
    throw new UserError(`${file}: field 'name': '${profile.name}' must equal the file name '${base}' (a copied profile keeps its original name: rename it to '${base}')`);
  }
  profile.file = file;
  return profile;
}
