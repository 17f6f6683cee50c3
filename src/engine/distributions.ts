import { z } from 'zod';
import type { Rng } from './rng';

/**
 * A random quantity, drawn from the random stream of the component that owns it.
 * Samplers are plain closures so the hot path of a simulation allocates nothing.
 */
export type Sampler = (rng: Rng) => number;

const finite = () => z.number().finite();

/** Longest empirical list accepted (a million values; larger lists belong in a file). */
export const MAX_SAMPLES = 1_000_000;

const deterministicSchema = z
  .object({ type: z.literal('deterministic'), value: finite().describe('the constant value') })
  .strict();

const exponentialSchema = z
  .object({ type: z.literal('exponential'), mean: finite().positive().describe('mean (1/rate)') })
  .strict();

const uniformSchema = z
  .object({ type: z.literal('uniform'), min: finite(), max: finite() })
  .strict()
  .refine((d) => d.max >= d.min, { message: 'max must be >= min', path: ['max'] });

const normalSchema = z
  .object({
    type: z.literal('normal'),
    mean: finite(),
    std: finite().nonnegative().describe('standard deviation'),
    min: finite().optional().describe('draws below min are set to min (default: the lower bound of the field)'),
    max: finite().optional().describe('draws above max are set to max'),
  })
  .strict();

/**
 * Lognormal: either by the mean and standard deviation of the value itself (what a
 * measurement reports) or by mu/sigma of its logarithm (what a fit reports), not both.
 */
const lognormalSchema = z
  .object({
    type: z.literal('lognormal'),
    mean: finite().positive().optional().describe('mean of the value'),
    std: finite().nonnegative().optional().describe('standard deviation of the value'),
    mu: finite().optional().describe('mean of log(value)'),
    sigma: finite().nonnegative().optional().describe('standard deviation of log(value)'),
  })
  .strict()
  .superRefine((d, ctx) => {
    const byMoments = d.mean !== undefined || d.std !== undefined;
    const byLog = d.mu !== undefined || d.sigma !== undefined;
    if (byMoments === byLog) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'give either {mean, std} or {mu, sigma}' });
    } else if (byMoments && (d.mean === undefined || d.std === undefined)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: [d.mean === undefined ? 'mean' : 'std'], message: 'required with the other of {mean, std}' });
    } else if (byLog && (d.mu === undefined || d.sigma === undefined)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: [d.mu === undefined ? 'mu' : 'sigma'], message: 'required with the other of {mu, sigma}' });
    }
  });

const empiricalSchema = z
  .object({
    type: z.literal('empirical'),
    samples: z.array(finite()).min(1, 'needs at least one sample').max(MAX_SAMPLES, `at most ${MAX_SAMPLES} samples`).describe('values resampled with replacement'),
  })
  .strict();

const distributionObjectSchema = z.discriminatedUnion('type', [
  deterministicSchema,
  exponentialSchema,
  // discriminatedUnion needs plain objects; the refinements are re-applied below.
  uniformSchema.innerType(),
  normalSchema,
  lognormalSchema.innerType(),
  empiricalSchema,
]);

/** A distribution spec after validation: an object with a `type`. */
export type DistributionSpec =
  | z.infer<typeof deterministicSchema>
  | z.infer<typeof exponentialSchema>
  | z.infer<typeof uniformSchema>
  | z.infer<typeof normalSchema>
  | z.infer<typeof lognormalSchema>
  | z.infer<typeof empiricalSchema>;

/** What a scenario may write where a random quantity is expected. */
export type DistributionInput = number | number[] | DistributionSpec;

/** Options of a distribution field: the value range the quantity lives in. */
export interface DistributionFieldOptions {
  /** Smallest value the quantity may take (0 for times and sizes). */
  min?: number;
  /** Largest mean (and, for bounded specs, largest value) the quantity may have. */
  max?: number;
}

/** Upper bound of the values a bounded spec can produce (its mean for unbounded ones). */
function specMax(d: DistributionSpec): number {
  switch (d.type) {
    case 'deterministic': return d.value;
    case 'uniform': return d.max;
    case 'normal': return d.max ?? d.mean;
    case 'empirical': { let m = -Infinity; for (const x of d.samples) if (x > m) m = x; return m; }
    default: return distributionMean(d);
  }
}

/** Lower bound of the values a spec can produce (normal draws are clamped at `floor`). */
function specMin(d: DistributionSpec): number {
  switch (d.type) {
    case 'deterministic': return d.value;
    case 'exponential': return 0;
    case 'uniform': return d.min;
    case 'normal': return d.min ?? -Infinity;
    case 'lognormal': return 0;
    case 'empirical': { let m = Infinity; for (const x of d.samples) if (x < m) m = x; return m; }
  }
}

/** Re-raises the issues of a nested parse at the current path, keeping their codes. */
function forward(ctx: z.RefinementCtx, error: z.ZodError): void {
  for (const issue of error.issues) ctx.addIssue(issue as unknown as z.IssueData);
}

/**
 * Zod schema for "a constant or a distribution": a number (deterministic), a non-empty
 * list of numbers (empirical bootstrap, e.g. per-sample payload sizes), or an object with
 * `type` in deterministic | exponential | uniform | normal | lognormal | empirical.
 * Every spec is normalised to an object. With `min`, values that could fall below it are
 * rejected, except normal draws, which are clamped at `min` (its default lower bound).
 */
export function distributionSchema(opts: DistributionFieldOptions = {}) {
  const min = opts.min ?? -Infinity;
  const max = opts.max ?? Infinity;
  const below = (x: number) => x < min;
  const rangeMsg = `must be >= ${min}`;
  return z.unknown().transform((value, ctx): DistributionSpec => {
    let spec: DistributionSpec;
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'expected a finite number' });
        return z.NEVER;
      }
      spec = { type: 'deterministic', value };
    } else if (Array.isArray(value)) {
      const r = z.array(finite()).min(1, 'needs at least one sample').max(MAX_SAMPLES, `at most ${MAX_SAMPLES} samples`).safeParse(value);
      if (!r.success) {
        forward(ctx, r.error);
        return z.NEVER;
      }
      spec = { type: 'empirical', samples: r.data };
    } else if (value !== null && typeof value === 'object') {
      const r = distributionObjectSchema.safeParse(value);
      if (!r.success) {
        forward(ctx, r.error);
        return z.NEVER;
      }
      spec = r.data as DistributionSpec;
      const refined = spec.type === 'uniform' ? uniformSchema.safeParse(spec) : spec.type === 'lognormal' ? lognormalSchema.safeParse(spec) : undefined;
      if (refined && !refined.success) {
        forward(ctx, refined.error);
        return z.NEVER;
      }
    } else if (value === undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'Required' });
      return z.NEVER;
    } else {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: 'expected a number, a list of samples, or {type: deterministic|exponential|uniform|normal|lognormal|empirical, ...}',
      });
      return z.NEVER;
    }
    if (spec.type === 'normal') {
      if (spec.min === undefined && min > -Infinity) spec = { ...spec, min };
      if (spec.min !== undefined && below(spec.min)) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['min'], message: rangeMsg });
        return z.NEVER;
      }
      if (spec.max !== undefined && spec.min !== undefined && spec.max < spec.min) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['max'], message: 'must be >= min' });
        return z.NEVER;
      }
    } else if (below(specMin(spec))) {
      const path = spec.type === 'deterministic' ? (typeof value === 'number' ? [] : ['value'])
        : spec.type === 'uniform' ? ['min']
        : spec.type === 'empirical' ? (Array.isArray(value) ? [spec.samples.findIndex(below)] : ['samples', spec.samples.findIndex(below)])
        : [];
      ctx.addIssue({ code: z.ZodIssueCode.custom, path, message: rangeMsg });
      return z.NEVER;
    }
    if (specMax(spec) > max) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `must be at most ${max} (${spec.type === 'exponential' || spec.type === 'lognormal' ? 'mean' : 'largest value'} ${specMax(spec)})` });
      return z.NEVER;
    }
    return spec;
  });
}

/** Mean of the distribution (exact, before clamping of normal draws). */
export function distributionMean(d: DistributionSpec): number {
  switch (d.type) {
    case 'deterministic': return d.value;
    case 'exponential': return d.mean;
    case 'uniform': return (d.min + d.max) / 2;
    case 'normal': return d.mean;
    case 'lognormal': return d.mean ?? Math.exp(d.mu! + (d.sigma! * d.sigma!) / 2);
    case 'empirical': {
      let s = 0;
      for (const x of d.samples) s += x;
      return s / d.samples.length;
    }
  }
}

/** Builds a sampler for a validated spec; `round` rounds draws to integers (byte counts). */
export function makeSampler(d: DistributionSpec, round = false): Sampler {
  const s = rawSampler(d);
  return round ? (rng) => Math.round(s(rng)) : s;
}

function rawSampler(d: DistributionSpec): Sampler {
  switch (d.type) {
    case 'deterministic': {
      const v = d.value;
      return () => v;
    }
    case 'exponential': {
      const m = d.mean;
      return (rng) => rng.exponential(m);
    }
    case 'uniform': {
      const lo = d.min, w = d.max - d.min;
      return (rng) => lo + w * rng.uniform();
    }
    case 'normal': {
      const m = d.mean, sd = d.std, lo = d.min ?? -Infinity, hi = d.max ?? Infinity;
      return (rng) => {
        const x = m + sd * rng.normal();
        return x < lo ? lo : x > hi ? hi : x;
      };
    }
    case 'lognormal': {
      let mu: number, sigma: number;
      if (d.mean !== undefined) {
        // Moments of the value -> parameters of its logarithm.
        const cv2 = (d.std! / d.mean) ** 2;
        sigma = Math.sqrt(Math.log1p(cv2));
        mu = Math.log(d.mean) - (sigma * sigma) / 2;
      } else {
        mu = d.mu!;
        sigma = d.sigma!;
      }
      return (rng) => Math.exp(mu + sigma * rng.normal());
    }
    case 'empirical': {
      const xs = Float64Array.from(d.samples);
      const n = xs.length;
      if (n === 1) {
        const v = xs[0];
        return () => v;
      }
      return (rng) => xs[rng.int(n)];
    }
  }
}
